"""``min/max/sum/count/avg_over_time`` from rollup buckets plus the raw samples at the window edges.

A window ``[end - range, end]`` (closed, Prometheus 2.42) is cut into three parts: the whole
rollup buckets inside it (``[b, b + width)`` with ``b >= start`` and ``b + width <= end + 1``),
and the raw samples of the partial buckets at either edge (``[start, first bucket)`` and
``[after the last bucket, end]``). A bucket's count, sum, min and max are those of exactly the
raw samples it covers (rollups are computed from raw samples, stale markers dropped, as the
windows of :mod:`core.promql.selectors` drop them), so count, min and max are the same numbers as
from raw samples, and sum and avg the same up to the order of float additions. A window that
overflows (a non-finite sum of finite samples) is recomputed from raw samples by the caller, as
the raw path does with Prometheus' incremental forms.

A window that ends exactly at a bucket start (``x[1h]`` at whole hours, as Grafana aligns its
steps) needs no raw samples at its right edge: the only sample it can hold there is one exactly
at the end, the first of the bucket starting there, which rollups keep (``first``,
``first_ts``). Where that bucket's first sample is not known (rollups written before it was
kept), the step is redone on the raw path. With a range of whole buckets the left edge is empty
too, so such windows read rollups only; ``bucket_width`` then takes hour buckets even for
windows shorter than a day.

The source decides whether this pays (it reads the raw chunks the edges touch, not the whole
range); a source without rollups, or one that declines, leaves the query to the raw path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROLLUP_FUNCTIONS = ("min_over_time", "max_over_time", "sum_over_time", "count_over_time", "avg_over_time")
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
MIN_BUCKETS = 10  # shorter windows: the raw path is as cheap


@dataclass
class Buckets:
    """One series' rollup rows, sorted by bucket start."""

    ts: np.ndarray  # int64 bucket starts
    count: np.ndarray
    sum: np.ndarray
    min: np.ndarray
    max: np.ndarray
    first: np.ndarray  # the bucket's first sample
    first_ts: np.ndarray  # float64 ms; NaN: not known
    last: np.ndarray  # the bucket's last sample
    last_ts: np.ndarray  # float64 ms; NaN: not known


@dataclass
class Summary:
    """Per step: sample count, sum, min and max of the window (min/max NaN-skipping, as fmin);
    ``unknown``: steps whose right edge needs a bucket's first sample that is not known."""

    n: np.ndarray
    sum: np.ndarray
    min: np.ndarray
    max: np.ndarray
    unknown: np.ndarray


def bucket_width(range_ms: int, ends: np.ndarray) -> int | None:
    """The rollup width to read for windows of ``range_ms`` ending at ``ends``, or None: too
    short to pay. Windows of whole hours ending at whole hours read hour buckets only."""
    if range_ms % HOUR == 0 and ends.size and not (ends % HOUR).any():
        return HOUR
    if range_ms >= DAY:
        return HOUR
    if range_ms >= MIN_BUCKETS * MINUTE:
        return MINUTE
    return None


def cuts(ends: np.ndarray, range_ms: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per step, the whole buckets' span ``[lo, hi)`` (bucket starts); lo == hi: none."""
    starts = ends - range_ms
    lo = -(-starts // width) * width
    hi = (ends + 1) // width * width
    hi = np.maximum(hi, lo)
    return lo, hi


def raw_intervals(ends: np.ndarray, range_ms: int, width: int) -> list[tuple[int, int]]:
    """The closed time intervals whose raw samples the edges need, merged and sorted (a right
    edge at a bucket start needs none: the bucket's first sample answers it)."""
    lo, hi = cuts(ends, range_ms, width)
    starts = ends - range_ms
    left = np.stack([starts, np.where(hi > lo, lo - 1, ends)], axis=1)
    right = np.stack([hi, ends], axis=1)[(hi > lo) & (ends % width != 0)]
    spans = np.concatenate([left, right])
    spans = spans[spans[:, 0] <= spans[:, 1]]
    spans = spans[np.argsort(spans[:, 0], kind="stable")]
    merged: list[tuple[int, int]] = []
    for a, b in spans.tolist():
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _segments(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, op: np.ufunc, empty: float) -> np.ndarray:
    """``op.reduce(values[lo[i]:hi[i]])`` for every i (``empty`` where the segment is empty)."""
    if values.size == 0:
        return np.full(lo.size, empty)
    padded = np.concatenate([values, [empty]])  # reduceat needs indices < size
    idx = np.empty(2 * lo.size, np.int64)
    idx[0::2], idx[1::2] = lo, hi
    out = op.reduceat(padded, idx)[0::2]
    return np.where(hi > lo, out, empty)


def _part(ts: np.ndarray, cols: list[np.ndarray], a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """count, sum, min, max of the rows with a <= ts < b (per step); cols are count, sum, min, max."""
    lo, hi = np.searchsorted(ts, a, "left"), np.searchsorted(ts, b, "left")
    lo = np.minimum(lo, hi)
    return [
        _segments(cols[0], lo, hi, np.add, 0.0),
        _segments(cols[1], lo, hi, np.add, 0.0),
        _segments(cols[2], lo, hi, np.fmin, np.nan),
        _segments(cols[3], lo, hi, np.fmax, np.nan),
    ]


def summarise(
    buckets: Buckets, raw_ts: np.ndarray, raw_v: np.ndarray, ends: np.ndarray, range_ms: int, width: int
) -> Summary:
    """Every step's window summary from whole buckets and the raw samples of its edges."""
    lo, hi = cuts(ends, range_ms, width)
    starts = ends - range_ms
    whole = hi > lo
    at_start = whole & (ends % width == 0)  # the right edge is the instant `end` alone
    raw_cols = [np.ones(raw_v.size), raw_v, raw_v, raw_v]
    left = _part(raw_ts, raw_cols, starts, np.where(whole, lo, ends + 1))
    right = _part(raw_ts, raw_cols, np.where(whole & ~at_start, hi, ends + 1), ends + 1)
    exact, unknown = _first_at(buckets, ends, at_start)
    cols = [buckets.count.astype(np.float64), buckets.sum, buckets.min, buckets.max]
    middle = _part(buckets.ts, cols, lo, hi)
    return Summary(
        left[0] + middle[0] + right[0] + exact[0],
        left[1] + middle[1] + right[1] + exact[1],
        np.fmin(np.fmin(np.fmin(left[2], middle[2]), right[2]), exact[2]),
        np.fmax(np.fmax(np.fmax(left[3], middle[3]), right[3]), exact[3]),
        unknown,
    )


def _first_at(buckets: Buckets, ends: np.ndarray, wanted: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Count, sum, min and max of the sample exactly at each wanted end (the first sample of
    the bucket starting there, if it is at its start), and the wanted ends whose bucket's first
    sample is not known."""
    if buckets.ts.size == 0:
        zero, nan = np.zeros(ends.size), np.full(ends.size, np.nan)
        return [zero, zero, nan, nan], np.zeros(ends.size, bool)
    at = np.minimum(np.searchsorted(buckets.ts, ends), buckets.ts.size - 1)
    has = wanted & (buckets.ts[at] == ends)
    first_ts = buckets.first_ts[at]
    hit = has & (first_ts == ends)
    value = np.where(hit, buckets.first[at], np.nan)
    return [hit.astype(np.float64), np.where(hit, value, 0.0), value, value], has & np.isnan(first_ts)


def result(name: str, s: Summary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, present, redo): ``redo`` marks steps whose sum is not finite, which the raw path
    computes with Prometheus' incremental forms: an overflow of finite samples, and any window
    with an infinity, where the order of the additions decides (1e308 + 1e308 + -inf is NaN in
    sample order, -inf when the buckets add up first)."""
    ok = s.n >= 1
    value = {
        "min_over_time": s.min,
        "max_over_time": s.max,
        "sum_over_time": s.sum,
        "count_over_time": s.n,
        "avg_over_time": s.sum / np.maximum(s.n, 1),
    }[name]
    redo = ok & ~np.isfinite(s.sum)
    if name in ("min_over_time", "max_over_time", "count_over_time"):
        redo = np.zeros_like(ok)
    return value, ok, redo | s.unknown
