"""Historical analytics: week-over-week and month-over-month trends, the hour x weekday load
heatmap, growth per team and the top movers.

:func:`read_history` reads hourly frames through a (team-scoped) Reader; the other functions are
pure and take those frames. A "week" is the 7 days before the end, "the week before" the 7 days
before that; a "month" is 28 days (four whole weeks, so weekdays balance). A change is ``None``
when the earlier span has no data (or a mean of zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.capacity.aggregates import AGGREGATES
from core.views import Reader
from core.views.growth import growth, growth_basis

HOUR_MS, DAY_MS = 3_600_000, 86_400_000
WEEK_MS, MONTH_MS = 7 * DAY_MS, 28 * DAY_MS
TRENDED = ("fleet_cpu", "fleet_memory", "sessions", "tool_calls", "active_users")
TEAM_METRICS = {"active_users": "platform_active_users", "cpu_cores": "container_cpu_usage_cores"}
MOVER_METRIC = "container_cpu_usage_cores"
DISPLAY_UNITS = {"bytes": ("GiB", 1 / 2**30), "ratio": ("%", 100.0)}  # unit -> (shown unit, factor)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class History:
    end_ms: int
    aggregates: pl.DataFrame  # ts, aggregate, value
    teams: pl.DataFrame  # ts, team, metric, value
    servers: pl.DataFrame  # ts, server, team, value (CPU cores)
    start_ms: int = 0  # where the read began (growth starts at the first sample when that is later)


def _empty_long(*labels: str) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"ts": pl.Datetime("ms", "UTC")}
    schema.update(dict.fromkeys(labels, pl.Utf8()))
    return pl.DataFrame(schema={**schema, "value": pl.Float64()})


def read_history(reader: Reader, end_ms: int, days: int = 56) -> History:
    """Hourly aggregates, per-team metrics and per-server CPU over ``days`` before ``end_ms``."""
    end = end_ms // HOUR_MS * HOUR_MS
    start = end - days * DAY_MS
    parts = []
    for name in TRENDED:
        a = AGGREGATES[name]
        df = reader.select(a.selector, start, end, step_ms=HOUR_MS, over_time=a.over, across=a.across)
        if df.height:
            parts.append(df.select("ts", pl.lit(name).alias("aggregate"), "value"))
    teams = []
    for name, metric in TEAM_METRICS.items():
        df = reader.select(metric, start, end, step_ms=HOUR_MS, over_time="avg", across="sum", by=("team",))
        if df.height and "team" in df.columns:
            teams.append(df.select("ts", "team", pl.lit(name).alias("metric"), "value"))
    servers = reader.select(
        MOVER_METRIC, start, end, step_ms=HOUR_MS, over_time="avg", across="sum", by=("server", "team")
    )
    ok = servers.height and {"server", "team"} <= set(servers.columns)
    return History(
        end,
        pl.concat(parts) if parts else _empty_long("aggregate"),
        pl.concat(teams) if teams else _empty_long("team", "metric"),
        servers.select("ts", "server", "team", "value") if ok else _empty_long("server", "team"),
        start,
    )


def _span_means(df: pl.DataFrame, end_ms: int, by: list[str]) -> pl.DataFrame:
    """Mean of ``value`` per group over the last week, the week before, the last 28 days and the 28 before."""
    ms = pl.col("ts").dt.epoch("ms")

    def mean_in(lo: int, hi: int, name: str) -> pl.Expr:
        return pl.col("value").filter((ms >= end_ms - lo) & (ms < end_ms - hi)).mean().alias(name)

    return df.group_by(by).agg(
        mean_in(WEEK_MS, 0, "this_week"),
        mean_in(2 * WEEK_MS, WEEK_MS, "last_week"),
        mean_in(MONTH_MS, 0, "this_month"),
        mean_in(2 * MONTH_MS, MONTH_MS, "last_month"),
    )


def _pct(now: str, before: str) -> pl.Expr:
    return pl.when(pl.col(before).abs() > 0).then((pl.col(now) / pl.col(before) - 1) * 100).otherwise(None)


def trends(h: History) -> pl.DataFrame:
    """aggregate, what, unit, this/last week and month means, wow_pct, mom_pct (in TRENDED order);
    bytes shown in GiB and ratios in percent."""
    if h.aggregates.is_empty():
        return pl.DataFrame(schema={"aggregate": pl.Utf8, "wow_pct": pl.Float64, "mom_pct": pl.Float64})
    out = _span_means(h.aggregates, h.end_ms, ["aggregate"]).with_columns(
        wow_pct=_pct("this_week", "last_week"), mom_pct=_pct("this_month", "last_month")
    )
    order = pl.DataFrame(
        {
            "aggregate": list(TRENDED),
            "what": [AGGREGATES[a].description for a in TRENDED],
            "unit": [DISPLAY_UNITS.get(AGGREGATES[a].unit, (AGGREGATES[a].unit, 1.0))[0] for a in TRENDED],
            "_scale": [DISPLAY_UNITS.get(AGGREGATES[a].unit, ("", 1.0))[1] for a in TRENDED],
        }
    )
    out = order.join(out, on="aggregate", how="inner", maintain_order="left")
    means = ("this_week", "last_week", "this_month", "last_month")
    return out.with_columns(pl.col(c) * pl.col("_scale") for c in means).drop("_scale")


def heatmap(h: History, aggregate: str = "fleet_cpu") -> pl.DataFrame:
    """weekday (0 = Monday), hour (UTC), value: the mean of ``aggregate`` per hour of the week."""
    df = h.aggregates.filter(pl.col("aggregate") == aggregate)
    return (
        df.group_by(
            (pl.col("ts").dt.weekday() - 1).cast(pl.Int8).alias("weekday"),
            pl.col("ts").dt.hour().alias("hour"),
        )
        .agg(pl.col("value").mean())
        .sort("weekday", "hour")
    )


def team_growth(h: History) -> pl.DataFrame:
    """team, metric, this/last week and month means, wow_pct, mom_pct, and growth_pct over the whole
    history (the daily mean of its last week against its first, ``core.views.growth``; the basis in
    :func:`growth_basis_of`); fastest growing first."""
    if h.teams.is_empty():
        return pl.DataFrame(
            schema={"team": pl.Utf8, "metric": pl.Utf8, "wow_pct": pl.Float64, "growth_pct": pl.Float64}
        )
    out = _span_means(h.teams, h.end_ms, ["team", "metric"])
    out = out.with_columns(wow_pct=_pct("this_week", "last_week"), mom_pct=_pct("this_month", "last_month"))
    grown, _ = growth(h.teams, _start(h), h.end_ms, ["team", "metric"], "value", "level")
    out = out.join(grown.select("team", "metric", "growth_pct"), on=["team", "metric"], how="left")
    return out.sort(["metric", "wow_pct", "team"], descending=[False, True, False], nulls_last=True)


def _start(h: History) -> int:
    """Where the teams' history begins: the read's start, or the first sample when data is younger."""
    if h.teams.is_empty():
        return h.start_ms or h.end_ms
    first = int(h.teams.select(pl.col("ts").dt.epoch("ms").min()).item())
    return max(h.start_ms, first // HOUR_MS * HOUR_MS)


def growth_basis_of(h: History) -> str:
    """What team_growth's growth_pct compares, in words."""
    return growth_basis(_start(h), h.end_ms, "each metric").text


def top_movers(h: History, n: int = 10) -> pl.DataFrame:
    """The ``n`` servers whose mean CPU use changed most week over week (absolute change in cores)."""
    if h.servers.is_empty():
        return pl.DataFrame(schema={"server": pl.Utf8, "team": pl.Utf8, "change": pl.Float64})
    out = _span_means(h.servers, h.end_ms, ["server", "team"]).select(
        "server", "team", "this_week", "last_week"
    )
    out = out.with_columns(
        change=pl.col("this_week").fill_null(0.0) - pl.col("last_week").fill_null(0.0),
        change_pct=_pct("this_week", "last_week"),
    )
    return out.sort(pl.col("change").abs(), "server", descending=[True, False]).head(n)


@dataclass(frozen=True)
class Analytics:
    """Everything the Capacity view shows of the history, computed at once (one cache entry)."""

    trends: pl.DataFrame
    heatmap: pl.DataFrame
    team_growth: pl.DataFrame
    top_movers: pl.DataFrame
    growth_basis: str = ""  # what team_growth's growth_pct compares


def analytics(reader: Reader, end_ms: int, days: int = 56, heat: str = "fleet_cpu") -> Analytics:
    h = read_history(reader, end_ms, days)
    return Analytics(trends(h), heatmap(h, heat), team_growth(h), top_movers(h), growth_basis_of(h))
