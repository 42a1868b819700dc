"""Store reads of the usage view: per MCP server and bucket, and per team and bucket.

Every read goes through the Reader it is given (the seam hands in the team- and user-scoped one),
one query per metric for every series at once, at ``step_ms`` buckets aligned to the range start:

* resources per server: CPU cores used and requested, memory bytes used and requested, as the
  bucket's average; a bucket's core-hours are that average times the bucket's hours;
* tool calls per server: the counter's increase per bucket (``core.usage.calls``: minute rollups up
  to a day, hour rollups with restarts accounted beyond: the minute read was the 7-day report's
  largest cost);
* team gauges: the platform's ``platform_active_users`` and ``platform_debug_sessions_active``,
  their peak per bucket (team-wide: a developer narrowed to their own series reads none).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from core.usage.calls import tool_calls
from core.views import Filters, Reader, selector

HOUR = 3_600_000
GIB = float(1 << 30)
RESOURCES = {  # column -> (metric, divisor turning the value into cores or GiB)
    "cpu_core_hours": ("container_cpu_usage_cores", 1.0),
    "memory_gib_hours": ("container_memory_working_set_bytes", GIB),
    "cpu_request_core_hours": ("container_cpu_request_cores", 1.0),
    "memory_request_gib_hours": ("container_memory_request_bytes", GIB),
}
GAUGES = {"active_users": "platform_active_users", "debug_sessions": "platform_debug_sessions_active"}
SERVER_KEYS = ("server", "team", "user", "session_id", "kind")
TS = pl.Datetime("ms", "UTC")
SERVER_SCHEMA: dict[str, Any] = {
    "ts": TS,
    **{k: pl.Utf8 for k in SERVER_KEYS},
    **{c: pl.Float64 for c in (*RESOURCES, "tool_calls")},
}
TEAM_SCHEMA: dict[str, Any] = {"ts": TS, "team": pl.Utf8, **{g: pl.Float64 for g in GAUGES}}


def _keyed(df: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    missing = [pl.lit(None, pl.Utf8).alias(k) for k in keys if k not in df.columns]
    return df.with_columns(missing).select("ts", *keys, "value")


def _per_server(df: pl.DataFrame) -> pl.DataFrame:
    if df.is_empty():
        return pl.DataFrame(schema={"ts": TS, **{k: pl.Utf8 for k in SERVER_KEYS}, "value": pl.Float64})
    return _keyed(df, SERVER_KEYS).filter(pl.col("server").is_not_null())


def server_buckets(reader: Reader, start_ms: int, end_ms: int, step_ms: int, f: Filters) -> pl.DataFrame:
    """Per bucket and server: resource hours (used and requested) and tool calls (``SERVER_SCHEMA``).

    Tool calls carry no ``user`` label: they get their server's user, team and session from the
    container series of the same bucket (the inventory of who runs which server).
    """
    hours = step_ms / HOUR
    parts = []
    for column, (metric, divisor) in RESOURCES.items():
        df = _per_server(
            reader.select(selector(metric, f), start_ms, end_ms, step_ms=step_ms, over_time="avg")
        )
        parts.append(df.with_columns((pl.col("value") / divisor * hours).alias(column)).drop("value"))
    out = parts[0]
    for df in parts[1:]:
        out = out.join(df, on=["ts", *SERVER_KEYS], how="full", coalesce=True, nulls_equal=True)
    calls = _per_server(tool_calls(reader, start_ms, end_ms, step_ms, f))
    calls = calls.group_by("ts", "server").agg(pl.col("value").sum().alias("tool_calls"))
    owners = out.select("server", *SERVER_KEYS[1:]).unique("server", keep="last")
    calls = calls.join(owners, on="server", how="left")
    out = out.join(calls, on=["ts", *SERVER_KEYS], how="full", coalesce=True, nulls_equal=True)
    numbers = [c for c, t in SERVER_SCHEMA.items() if t == pl.Float64]
    out = out.select(list(SERVER_SCHEMA)).cast(pl.Schema(SERVER_SCHEMA))
    return out.with_columns(pl.col(numbers).fill_null(0.0))


def team_gauges(reader: Reader, start_ms: int, end_ms: int, step_ms: int, f: Filters) -> pl.DataFrame:
    """Per bucket and team: the peak of each platform gauge (``TEAM_SCHEMA``)."""
    out: pl.DataFrame | None = None
    for column, metric in GAUGES.items():
        df = reader.select(
            selector(metric, f, labels=("team",)), start_ms, end_ms, step_ms=step_ms, over_time="max"
        )
        if df.is_empty():
            continue
        df = _keyed(df, ("team",)).group_by("ts", "team").agg(pl.col("value").sum().alias(column))
        out = df if out is None else out.join(df, on=["ts", "team"], how="full", coalesce=True)
    if out is None:
        return pl.DataFrame(schema=TEAM_SCHEMA)
    missing = [pl.lit(None, pl.Float64).alias(g) for g in GAUGES if g not in out.columns]
    return out.with_columns(missing).select(list(TEAM_SCHEMA)).cast(pl.Schema(TEAM_SCHEMA))
