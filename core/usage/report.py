"""The usage report: per team, per user, per MCP server and over time, with showback cost.

Cost is showback, not billing: unit prices (``Prices``) times the core-hours and GiB-hours either
requested (the default basis ``requests``: what a team holds, and what the fleet must provision)
or used (basis ``usage``). Growth (``growth_pct``) is the change of a team's tool calls a day
between the range's first and last week (or day, in a range under two weeks; none under two days):
``core.views.growth``; ``UsageReport.growth_basis`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.kernel.times import MINUTE, pick_step
from core.usage.read import GAUGES, HOUR, RESOURCES, server_buckets, team_gauges
from core.usage.settings import Basis, Prices
from core.views import Filters, Reader
from core.views.growth import growth

DAY = 24 * HOUR
SUMS = ("tool_calls", *RESOURCES, "cost")
SHOWN = ("tool_calls", "cpu_core_hours", "memory_gib_hours", "cost")


@dataclass(frozen=True)
class UsageReport:
    teams: pl.DataFrame  # team, active_users_peak, users, debug_sessions_peak, mcp_servers, SUMS, growth_pct
    users: pl.DataFrame  # team, user, sessions, mcp_servers, SUMS
    servers: pl.DataFrame  # server, kind, team, user, session_id, SUMS
    trend: pl.DataFrame  # ts, team, active_users, debug_sessions, tool_calls, cpu/memory hours, cost
    start_ms: int
    end_ms: int
    currency: str
    basis: Basis
    growth_basis: str = ""  # what growth_pct compares, in words


TREND_POINTS = 12  # at least this many buckets in a short range's trend (one hourly point draws nothing)


def buckets_of(span_ms: int) -> tuple[int, int]:
    """(read step, trend step): hourly reads, finer for ranges under 12 h (a nice step giving at
    least TREND_POINTS buckets); the trend daily past 2 days, else per read bucket."""
    read = HOUR if span_ms >= TREND_POINTS * HOUR else max(MINUTE, pick_step(span_ms, TREND_POINTS))
    read = min(read, span_ms)
    return read, DAY if span_ms > 2 * DAY else read


def _cost(prices: Prices, basis: Basis) -> pl.Expr:
    held = basis == "requests"
    cpu, mem = (
        ("cpu_request_core_hours", "memory_request_gib_hours")
        if held
        else ("cpu_core_hours", "memory_gib_hours")
    )
    return (pl.col(cpu) * prices.cpu_core_hour + pl.col(mem) * prices.memory_gib_hour).alias("cost")


def _trend_ts(start_ms: int, step_ms: int) -> pl.Expr:
    ms = pl.col("ts").dt.epoch("ms")
    return (
        (pl.lit(start_ms) + (ms - start_ms) // step_ms * step_ms).cast(pl.Datetime("ms", "UTC")).alias("ts")
    )


def _teams(b: pl.DataFrame, gauges: pl.DataFrame, growth_pct: pl.DataFrame) -> pl.DataFrame:
    sums = b.group_by("team").agg(
        pl.col("user").drop_nulls().n_unique().alias("users"),
        pl.col("server").n_unique().alias("mcp_servers"),
        *[pl.col(c).sum() for c in SUMS],
    )
    peaks = gauges.group_by("team").agg(pl.col(g).max().alias(f"{g}_peak") for g in GAUGES)
    out = peaks.join(sums, on="team", how="full", coalesce=True).join(growth_pct, on="team", how="left")
    order = ["team", "active_users_peak", "users", "debug_sessions_peak", "mcp_servers", *SUMS, "growth_pct"]
    return out.select(order).sort("team")


def _trend(b: pl.DataFrame, gauges: pl.DataFrame, start_ms: int, step_ms: int) -> pl.DataFrame:
    sums = (
        b.with_columns(_trend_ts(start_ms, step_ms))
        .group_by("ts", "team")
        .agg(pl.col(c).sum() for c in SHOWN)
    )
    peaks = (
        gauges.with_columns(_trend_ts(start_ms, step_ms))
        .group_by("ts", "team")
        .agg(pl.col(g).max() for g in GAUGES)
    )
    out = peaks.join(sums, on=["ts", "team"], how="full", coalesce=True)
    return out.select("ts", "team", *GAUGES, *SHOWN).sort("ts", "team")


def _rounded(df: pl.DataFrame) -> pl.DataFrame:
    """Hours and money to 4 decimals, percentages to 1: no float noise in tables and CSV."""
    four = [c for c in (*RESOURCES, "cost") if c in df.columns]
    one = [c for c in ("growth_pct",) if c in df.columns]
    return df.with_columns(pl.col(four).round(4), pl.col(one).round(1))


def usage_report(
    reader: Reader,
    start_ms: int,
    end_ms: int,
    prices: Prices,
    filters: Filters | None = None,
    basis: Basis = "requests",
) -> UsageReport:
    """Usage of every team, user and server ``reader`` may see in ``[start_ms, end_ms)``."""
    f = filters or Filters()
    step, trend_step = buckets_of(end_ms - start_ms)
    b = server_buckets(reader, start_ms, end_ms, step, f).with_columns(_cost(prices, basis))
    gauges = team_gauges(reader, start_ms, end_ms, step, f)
    per_server = b.group_by("server").agg(
        *[pl.col(k).drop_nulls().last() for k in ("kind", "team", "user", "session_id")],
        *[pl.col(c).sum() for c in SUMS],
    )
    users = (
        b.filter(pl.col("user").is_not_null())
        .group_by("team", "user")
        .agg(
            pl.col("session_id").drop_nulls().n_unique().alias("sessions"),
            pl.col("server").n_unique().alias("mcp_servers"),
            *[pl.col(c).sum() for c in SUMS],
        )
    )
    calls = b.filter(pl.col("team").is_not_null()).select("ts", "team", "tool_calls")
    grown, grown_basis = growth(calls, start_ms, end_ms, ["team"], "tool_calls", "count")
    return UsageReport(
        teams=_rounded(_teams(b, gauges, grown.select("team", "growth_pct"))),
        users=_rounded(users.sort("cost", "tool_calls", descending=True)),
        servers=_rounded(per_server.sort("cost", "tool_calls", descending=True)),
        trend=_rounded(_trend(b, gauges, start_ms, trend_step)),
        start_ms=start_ms,
        end_ms=end_ms,
        currency=prices.currency,
        basis=basis,
        growth_basis=grown_basis.text,
    )


def frames(report: UsageReport) -> dict[str, pl.DataFrame]:
    """The report's tables by name, as the CSV exports and snapshots write them."""
    return {
        "per-team": report.teams,
        "per-user": report.users,
        "per-server": report.servers,
        "trend": report.trend,
    }
