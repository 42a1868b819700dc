"""Did an applied index help? The advised statement's measured mean time per call, from the
``postgres`` source's ``pg_stat_statements`` counters, in equal windows before and after the
time the index was marked applied, with the same bootstrap interval and verdicts as a
right-sizing's before/after (``core.optimization.impact``).

Per bucket: the increase of ``pg_statement_total_time_seconds_total`` over the increase of
``pg_statement_calls_total`` of the statement's ``queryid`` (a queryid does not change when an
index is created: it is computed from the parsed statement, not its plan). Buckets without calls
have no mean. The calls per bucket are shown beside it: a mean that fell because the workload
changed is not an index's doing.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from core.optimization.impact import SCHEMA, ImpactSettings, compare, windows
from core.views import Reader, selector

CALLS, TIME = "pg_statement_calls_total", "pg_statement_total_time_seconds_total"


def _increases(reader: Reader, metric: str, queryid: str, start: int, end: int, step_s: int) -> np.ndarray:
    """The increase per bucket from ``start`` to ``end``, summed over the statement's series."""
    df = reader.select(
        selector(metric, queryid=queryid), start, end, step_ms=step_s * 1000, over_time="increase"
    )
    out = np.full((end - start) // (step_s * 1000), np.nan)
    if df.is_empty():
        return out
    per = df.group_by("ts").agg(pl.col("value").sum()).with_columns(pl.col("ts").dt.epoch("ms"))
    for ms, value in per.select("ts", "value").iter_rows():
        i = (int(ms) - start) // (step_s * 1000)
        if 0 <= i < len(out):
            out[i] = value
    return out


def measure_statement(
    reader: Reader, queryid: str, applied_ms: int, now_ms: int, s: ImpactSettings | None = None
) -> pl.DataFrame:
    """Rows ``statement_mean_ms`` (should fall) and ``calls`` (should stay), schema ``SCHEMA``;
    an empty frame while the window after is shorter than ``min_buckets`` buckets."""
    s = s or ImpactSettings()
    start, mid, end = windows(applied_ms, now_ms, s)
    if end - mid < s.min_buckets * s.step_s * 1000:
        return pl.DataFrame(schema=SCHEMA)
    calls = _increases(reader, CALLS, queryid, start, end, s.step_s)
    seconds = _increases(reader, TIME, queryid, start, end, s.step_s)
    mean_ms = np.where(calls > 0, seconds * 1000 / np.where(calls > 0, calls, 1), np.nan)
    n = (end - start) // (s.step_s * 1000) // 2
    rng = np.random.default_rng(0)
    rows = [
        compare("statement_mean_ms", "lower", mean_ms[:n], mean_ms[n:], s, rng),
        compare("calls", "same", calls[:n], calls[n:], s, rng),
    ]
    return pl.DataFrame(rows, schema=SCHEMA)
