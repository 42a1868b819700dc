"""Performance of tool calls: rates, errors and latency quantiles per server and tool.

Everything derives from one frame, :func:`tool_buckets`: per step bucket and tool series, the
calls and errors (counter increases) and the p50/p95/p99 gauges. Quantiles cannot be merged
exactly; a group's quantile is the call-weighted mean of its tools' quantiles (the plain mean
where no calls were counted), which is what a reader of a "p95 per server" chart expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from core.kernel.times import TimeRange
from core.views import TS, Filters, Reader, conform, counter_increase, ensure_columns, pct_delta, selector

CALLS, ERRORS = "mcp_server_tool_calls_total", "mcp_server_tool_errors_total"
LATENCY = "mcp_server_operation_duration_seconds"
QUANTILES = {"p50": "0.5", "p95": "0.95", "p99": "0.99"}
TOOL = "gen_ai_tool_name"
KEYS = ("server", "host", "team", TOOL)
TOOL_KEYS = ("server", TOOL)
BUCKET_SCHEMA: dict[str, Any] = {
    "ts": TS,
    **{k: pl.Utf8 for k in KEYS},
    "calls": pl.Float64,
    "errors": pl.Float64,
    "calls_rate": pl.Float64,
    "errors_rate": pl.Float64,
    **{q: pl.Float64 for q in QUANTILES},
}
Quantile = Literal["p50", "p95", "p99"]


def tool_buckets(store: Reader, tr: TimeRange, filters: Filters) -> pl.DataFrame:
    """Per bucket and tool series: calls and errors (increase and per-second rate), latency quantiles (s)."""
    calls = counter_increase(store, selector(CALLS, filters), tr, KEYS)
    if calls.is_empty():
        return pl.DataFrame(schema=BUCKET_SCHEMA)
    errors = counter_increase(store, selector(ERRORS, filters), tr, KEYS)
    on = ["ts", *KEYS]
    out = calls.select(*on, pl.col("increase").alias("calls"), pl.col("rate").alias("calls_rate")).join(
        errors.select(*on, pl.col("increase").alias("errors"), pl.col("rate").alias("errors_rate")),
        on=on,
        how="left",
        nulls_equal=True,
    )
    lat = store.select(
        selector(LATENCY, filters, mcp_method_name="tools/call"),
        tr.start_ms,
        tr.end_ms,
        step_ms=tr.step_ms,
        across="avg",
        by=(*KEYS, "quantile"),
    )
    lat = ensure_columns(lat, [*KEYS, "quantile"])
    names = {v: k for k, v in QUANTILES.items()}
    lat = lat.filter(pl.col("quantile").is_in(list(names))).with_columns(
        pl.col("quantile").replace_strict(names)
    )
    if not lat.is_empty():
        wide = lat.pivot(on="quantile", index=on, values="value")
        out = out.join(wide, on=on, how="left", nulls_equal=True)
    out = out.with_columns(
        pl.col("errors").fill_null(0.0),
        pl.col("errors_rate").fill_null(0.0),
        *[pl.lit(None, pl.Float64).alias(q) for q in QUANTILES if q not in out.columns],
    )
    return conform(out, BUCKET_SCHEMA)


def _weighted(q: str) -> pl.Expr:
    w = pl.col("calls").fill_null(0.0)
    den = w.filter(pl.col(q).is_not_null()).sum()
    return pl.when(den > 0).then((pl.col(q) * w).sum() / den).otherwise(pl.col(q).mean()).alias(q)


def _aggregates() -> list[pl.Expr]:
    return [pl.col("calls").sum(), pl.col("errors").sum(), *[_weighted(q) for q in QUANTILES]]


def _error_ratio() -> pl.Expr:
    return (pl.col("errors") / pl.when(pl.col("calls") > 0).then(pl.col("calls"))).alias("error_ratio")


def series(buckets: pl.DataFrame, tr: TimeRange, by: tuple[str, ...] = ("server",)) -> pl.DataFrame:
    """Per bucket and group: calls_per_s, errors_per_s, error_ratio, p50, p95, p99."""
    return (
        buckets.group_by("ts", *by)
        .agg(
            *_aggregates(),
            pl.col("calls_rate").sum().alias("calls_per_s"),
            pl.col("errors_rate").sum().alias("errors_per_s"),
        )
        .with_columns(_error_ratio())
        .select("ts", *by, "calls_per_s", "errors_per_s", "error_ratio", *QUANTILES)
        .sort(*by, "ts")
    )


def latency_long(series_df: pl.DataFrame, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """Quantile columns of :func:`series` as rows: ts, *by, quantile, value."""
    return series_df.unpivot(
        index=["ts", *by], on=list(QUANTILES), variable_name="quantile", value_name="value"
    ).drop_nulls("value")


@dataclass(frozen=True)
class Summary:
    calls: float
    errors: float
    calls_per_s: float
    error_ratio: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    samples: int = 0  # (bucket, series) pairs with data: how much the summary rests on


def summarize(buckets: pl.DataFrame, tr: TimeRange) -> Summary:
    if buckets.is_empty():
        return Summary(0.0, 0.0, 0.0, None, None, None, None)
    row = buckets.select(_aggregates()).row(0, named=True)
    calls, errors = row["calls"] or 0.0, row["errors"] or 0.0
    return Summary(
        calls=calls,
        errors=errors,
        calls_per_s=calls / (tr.span_ms / 1000),
        error_ratio=errors / calls if calls else None,
        **{q: row[q] for q in QUANTILES},
        samples=buckets.height,
    )


@dataclass(frozen=True)
class Comparison:
    """Changes against the previous period of the same length, in percent (points for ratios)."""

    calls_pct: float | None
    error_ratio_pp: float | None
    p95_pct: float | None
    p99_pct: float | None
    no_delta_because: str | None = None  # why there are no changes to show


MIN_COVERAGE = 0.5  # a previous period with under half the data of this one is no baseline


def thin_baseline(current: int, previous: int) -> str | None:
    """Why a previous period of ``previous`` data points is no baseline for ``current`` ones, or None."""
    if current and previous < MIN_COVERAGE * current:
        return (
            f"No change shown: the previous period holds {previous} data points against {current} in this "
            "one (under half), so a percentage would mislead."
        )
    return None


def compare(current: Summary, previous: Summary) -> Comparison:
    why = thin_baseline(current.samples, previous.samples)
    if why:
        return Comparison(None, None, None, None, why)
    pp = None
    if current.error_ratio is not None and previous.error_ratio is not None:
        pp = (current.error_ratio - previous.error_ratio) * 100
    return Comparison(
        calls_pct=pct_delta(current.calls, previous.calls),
        error_ratio_pp=pp,
        p95_pct=pct_delta(current.p95, previous.p95),
        p99_pct=pct_delta(current.p99, previous.p99),
    )


TABLE_SCHEMA: dict[str, Any] = {
    "server": pl.Utf8,
    TOOL: pl.Utf8,
    "host": pl.Utf8,
    "team": pl.Utf8,
    "calls": pl.Float64,
    "errors": pl.Float64,
    "calls_per_s": pl.Float64,
    "error_ratio": pl.Float64,
    **{q: pl.Float64 for q in QUANTILES},
    "calls_delta_pct": pl.Float64,
    "error_ratio_delta_pp": pl.Float64,
    "p95_delta_pct": pl.Float64,
}


def _per_tool(buckets: pl.DataFrame, tr: TimeRange) -> pl.DataFrame:
    return (
        buckets.group_by(TOOL_KEYS)
        .agg(
            pl.col("host").drop_nulls().first(),
            pl.col("team").drop_nulls().first(),
            *_aggregates(),
            pl.len().alias("points"),
        )
        .with_columns((pl.col("calls") / (tr.span_ms / 1000)).alias("calls_per_s"), _error_ratio())
    )


def tool_table(buckets: pl.DataFrame, previous: pl.DataFrame, tr: TimeRange) -> pl.DataFrame:
    """One row per (server, tool) over the range, with changes against the previous period."""
    if buckets.is_empty():
        return pl.DataFrame(schema=TABLE_SCHEMA)
    cur = _per_tool(buckets, tr)
    prev = _per_tool(previous, tr.previous()).select(
        *TOOL_KEYS,
        pl.col("calls").alias("prev_calls"),
        pl.col("error_ratio").alias("prev_er"),
        pl.col("p95").alias("prev_p95"),
        pl.col("points").alias("prev_points"),
    )
    out = cur.join(prev, on=TOOL_KEYS, how="left", nulls_equal=True)
    # a tool whose previous period holds under half the data points of this one gets no change
    enough = pl.col("prev_points").fill_null(0) >= MIN_COVERAGE * pl.col("points")

    def pct(now: str, before: str) -> pl.Expr:
        base = pl.when((pl.col(before) != 0) & enough).then(pl.col(before))
        return (pl.col(now) - base) / base.abs() * 100

    out = out.with_columns(
        pct("calls", "prev_calls").alias("calls_delta_pct"),
        pl.when(enough).then((pl.col("error_ratio") - pl.col("prev_er")) * 100).alias("error_ratio_delta_pp"),
        pct("p95", "prev_p95").alias("p95_delta_pct"),
    )
    return conform(out, TABLE_SCHEMA).sort("calls", descending=True)


def top_tools(
    table: pl.DataFrame,
    by: Literal["p95", "p99", "error_ratio", "calls"] = "p95",
    n: int = 10,
    min_calls: float = 1.0,
) -> pl.DataFrame:
    """The ``n`` worst tools by a column (ties by calls), ignoring tools with fewer than ``min_calls``."""
    return (
        table.filter((pl.col("calls") >= min_calls) & pl.col(by).is_not_null())
        .sort([by, "calls", "server", TOOL], descending=[True, True, False, False])
        .head(n)
    )


def latency_distribution(
    buckets: pl.DataFrame, quantile: Quantile = "p95", by: str = "server"
) -> pl.DataFrame:
    """Every bucket value of a latency quantile per group (for box plots): columns group, value."""
    return (
        buckets.filter(pl.col(quantile).is_not_null())
        .select(pl.col(by).alias("group"), pl.col(quantile).alias("value"))
        .sort("group")
    )


def servers_of(buckets: pl.DataFrame) -> list[str]:
    """Servers with tool calls in the range, busiest first (the drill-down choices)."""
    if buckets.is_empty():
        return []
    busy = (
        buckets.group_by("server")
        .agg(pl.col("calls").sum())
        .sort(["calls", "server"], descending=[True, False])
    )
    return [s for s in busy["server"].to_list() if s]
