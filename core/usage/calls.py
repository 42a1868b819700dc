"""Tool calls per server and bucket: the counter's increase, from minute or hour rollups.

Up to a day (within the minute rollups' retention) the increase is read from 1-minute rollups:
exact, and 1,440 rows a series. Over longer ranges that read dominated the Usage view (7 days:
10,080 rows a series, ~4x the other five reads together), so the hour rollups are read instead,
three columns of each hour: ``min``, ``max`` and ``last``. An hour's increase is ``last`` minus the
previous hour's ``last``, unless the counter restarted inside the hour, which shows as a ``min``
below the previous ``last`` (a counter only falls by restarting). Then the hour counted the climb
from the previous ``last`` to the peak before the restart (the hour's ``max``, when that is above
the final value) plus everything after it, ``last`` (a restarted counter starts at zero): exact for
one restart in an hour whose pre-restart peak is its maximum, which a counter that lived longer than
the minutes after its restart always has. Reading ``last`` alone, as a plain hourly increase does,
loses the climb before each restart (2.3 % of a demo week's calls). The hour rollups cover whole
hours: the pieces of the range before its first whole hour and after its last are read from the
minute rollups (while they are kept), so the total is the minute read's to the call.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from core.views import Filters, Reader, selector

HOUR = 3_600_000
DAY = 24 * HOUR
CALLS = "mcp_server_tool_calls_total"
MINUTE_READS_MS = 7 * DAY  # how far back the minute rollups are kept (retention.minute_days)
EXACT_SPAN_MS = DAY  # ranges up to this long read minute rollups


def _labels(df: pl.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in ("ts", "value")]


def hourly_increase(reader: Reader, sel: Any, start_ms: int, end_ms: int) -> pl.DataFrame:
    """ts, value (the increase), labels...: one row per series and hour bucket from ``start_ms``."""
    lo = start_ms - HOUR  # the hour before the range: the first bucket's previous ``last``
    parts = {
        stat: reader.select(sel, lo, end_ms, step_ms=HOUR, over_time=stat, resolution="1h")
        for stat in ("min", "max", "last")
    }
    last = parts["last"]
    if last.is_empty():
        return last
    keys = _labels(last)
    both = last.rename({"value": "last"})
    for stat in ("min", "max"):
        both = both.join(parts[stat].rename({"value": stat}), on=["ts", *keys], how="left", nulls_equal=True)
    prev = pl.col("last").shift(1).over(keys, order_by="ts")
    restarted = pl.col("min") < prev
    before = pl.when(pl.col("max") > pl.col("last")).then(pl.col("max") - prev).otherwise(0.0).clip(0.0)
    inc = pl.when(restarted).then(before + pl.col("last")).otherwise(pl.col("last") - prev)
    out = both.with_columns(inc.alias("value")).filter(
        pl.col("value").is_not_null() & (pl.col("ts").dt.epoch("ms") >= start_ms)
    )
    return out.select("ts", "value", *keys)


def _minute_increase(reader: Reader, sel: Any, start_ms: int, end_ms: int, step_ms: int) -> pl.DataFrame:
    return reader.select(sel, start_ms, end_ms, step_ms=step_ms, over_time="increase", resolution="1m")


def tool_calls(reader: Reader, start_ms: int, end_ms: int, step_ms: int, f: Filters) -> pl.DataFrame:
    """ts, value, labels...: tool calls per series and ``step_ms`` bucket in ``[start_ms, end_ms)``."""
    sel = selector(CALLS, f)
    minutes_kept = reader.now_ms() - start_ms <= MINUTE_READS_MS
    if minutes_kept and (end_ms - start_ms <= EXACT_SPAN_MS or step_ms != HOUR):
        return _minute_increase(reader, sel, start_ms, end_ms, step_ms)
    if step_ms != HOUR:
        return reader.select(sel, start_ms, end_ms, step_ms=step_ms, over_time="increase")
    first = -(-start_ms // HOUR) * HOUR if minutes_kept else start_ms // HOUR * HOUR
    last = end_ms // HOUR * HOUR
    parts = [hourly_increase(reader, sel, first, last)]
    if start_ms < first:
        parts.append(_minute_increase(reader, sel, start_ms, first, first - start_ms))
    if last < end_ms:
        parts.append(_minute_increase(reader, sel, last, end_ms, end_ms - last))
    found = [p for p in parts if not p.is_empty()]
    if not found:
        return parts[0]
    both = pl.concat(found, how="diagonal_relaxed")
    ms = pl.col("ts").dt.epoch("ms")
    bucket = (pl.lit(start_ms) + (ms - start_ms).clip(0) // HOUR * HOUR).cast(pl.Datetime("ms", "UTC"))
    keys = _labels(both)
    return (
        both.with_columns(bucket.alias("ts"))
        .group_by("ts", *keys)
        .agg(pl.col("value").sum())
        .select("ts", "value", *keys)
    )
