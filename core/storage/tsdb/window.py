"""One window's over-time value per series, from raw samples, in numpy: what an alert rule asks.

An alerting cycle asks hundreds of ``metric{...}`` windows of the last minutes, each one bucket
wide. The general path (``query.per_series``) builds polars frames, joins labels and groups by
(series, bucket): about ten polars collects per query, most of a cycle. Here the samples are
read as arrays sorted by series and time and reduced per series with ``np.*.reduceat``, with the
same semantics as the general path (tests/core/storage/tsdb/test_window.py compares the two):

- gauges: avg, min, max, sum, count, last of the samples with start <= ts < end;
- counters: increase is the sum of the deltas of the samples in the window (a drop counts as a
  restart from zero: the delta is the new value; the sample before the window, within the
  lookback, gives the first delta), rate that sum over the time the deltas span, per second.

NaN is a value like any other here, as in polars: it makes sums and means NaN; min and max skip
it unless every value is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy.engine import Connection

from core.storage.tsdb.query import LOOKBACK_MS, Query
from core.storage.tsdb.read_series import read_raw_arrays

GAUGES = ("avg", "min", "max", "sum", "count", "last")
COUNTERS = ("rate", "increase")


def fits(q: Query, step_ms: int, resolution: str) -> bool:
    """Whether :func:`window_values` answers ``q``: raw samples, one bucket, no extra columns."""
    one_bucket = step_ms > q.end_ms - q.start_ms
    return resolution == "raw" and one_bucket and q.over_time in GAUGES + COUNTERS and not q.also_over_time


def window_values(conn: Connection, q: Query, ids: Sequence[int], step_ms: int) -> dict[int, float]:
    """Series id -> the window's value, for the series that have one (``fits(q, ...)`` holds)."""
    counter = q.over_time in COUNTERS
    lookback = max(step_ms, LOOKBACK_MS) if counter else 0
    sid, ts, value = read_raw_arrays(conn, ids, q.start_ms - lookback, q.end_ms)
    if counter:
        return _counter(sid, ts, value, q.start_ms, q.over_time == "rate")
    if not sid.size:
        return {}
    starts = np.r_[0, np.flatnonzero(np.diff(sid)) + 1]
    return dict(zip(sid[starts].tolist(), _reduce(q.over_time, value, starts).tolist(), strict=True))


def _reduce(name: str, value: np.ndarray, starts: np.ndarray) -> np.ndarray:
    counts = np.diff(np.r_[starts, value.size])
    if name == "count":
        return counts.astype(np.float64)
    if name == "last":
        return value[np.r_[starts[1:], value.size] - 1]
    if name in ("min", "max"):
        fn = np.fmin if name == "min" else np.fmax  # NaN only where every value is NaN
        return fn.reduceat(value, starts)
    sums = np.add.reduceat(value, starts)
    return sums if name == "sum" else sums / counts


def _counter(sid: np.ndarray, ts: np.ndarray, value: np.ndarray, start: int, rate: bool) -> dict[int, float]:
    same = np.zeros(sid.size, dtype=bool)
    same[1:] = sid[1:] == sid[:-1]  # a sample with a previous one of its series: it has a delta
    prev = np.r_[np.nan, value[:-1]]
    delta = np.where(value >= prev, value - prev, value)
    dt = np.r_[0, np.diff(ts)]
    keep = same & (ts >= start)
    sid, delta, dt = sid[keep], delta[keep], dt[keep]
    if not sid.size:
        return {}
    starts = np.r_[0, np.flatnonzero(np.diff(sid)) + 1]
    total = np.add.reduceat(delta, starts)
    if rate:
        total = total / np.add.reduceat(dt, starts) * 1000
    return dict(zip(sid[starts].tolist(), total.tolist(), strict=True))
