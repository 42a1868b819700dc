"""Range functions that only need a window's edges: rate, increase, delta, irate, idelta, resets,
changes, count/last/present/absent_over_time.

Their inputs (first, second-to-last and last sample, sample count, counter-reset corrections) are
found for all steps at once with ``searchsorted`` and prefix counts, without gathering the
windows: O(samples + steps) per series whatever the range. The arithmetic is shared with the
gathered path, so both give the same floats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Out = tuple[np.ndarray, np.ndarray]
MAX_DROPS = 64  # more counter resets than this in one read: take the gathered path instead
EDGE_CELLS = 1 << 18  # series x steps computed at once by from_many (a dozen arrays of that size)


@dataclass
class Edges:
    n: np.ndarray
    t0: np.ndarray
    v0: np.ndarray
    tp: np.ndarray  # second-to-last sample
    vp: np.ndarray
    t1: np.ndarray  # last sample
    v1: np.ndarray
    start: np.ndarray
    end: np.ndarray
    correction: np.ndarray  # sum of the values before each drop (counter resets)
    resets: np.ndarray
    changes: np.ndarray


def from_series(ts: np.ndarray, vals: np.ndarray, ends: np.ndarray, range_ms: int) -> Edges | None:
    """The edges of one series' windows (one row of :func:`from_many`); None when it has more
    than ``MAX_DROPS`` counter drops (the gathered path takes it)."""
    many, too_many = from_many([(ts, vals)], ends, range_ms)
    if too_many[0]:
        return None
    return Edges(*(a[0] if a.ndim == 2 else a for a in vars(many).values()))


def from_many(
    series: list[tuple[np.ndarray, np.ndarray]], ends: np.ndarray, range_ms: int
) -> tuple[Edges, np.ndarray]:
    """Each window's first, second-to-last and last sample, count and counter-reset correction
    for many series at once: every array of the Edges is (series, steps).

    The series are laid end to end and told apart by a key ``segment * width + time``, so one
    ``searchsorted`` finds every window of every series, and the prefix counts run once (a drop
    or change across two series never falls inside one series' window). The second value says which series have more
    than ``MAX_DROPS`` counter drops (their rows are to be taken from the gathered path).
    """
    count = len(series)
    sizes = np.array([len(ts) for ts, _ in series], dtype=np.int64)
    off = np.concatenate(([0], np.cumsum(sizes)))
    ts = np.concatenate([t for t, _ in series]) if count else np.zeros(0, np.int64)
    vals = np.concatenate([v for _, v in series]) if count else np.zeros(0)
    starts = ends - range_ms
    base = min(int(ts.min()) if ts.size else 0, int(starts.min()))
    width = max(int(ts.max()) if ts.size else 0, int(ends.max())) - base + 1
    seg = np.repeat(np.arange(count, dtype=np.int64), sizes)
    keys = seg * width + (ts - base)
    rows = np.arange(count, dtype=np.int64)[:, None] * width
    lo = np.searchsorted(keys, rows + (starts - base)[None, :], "left")
    hi = np.searchsorted(keys, rows + (ends - base)[None, :], "right")
    n = hi - lo
    # a pair across two series is counted in drops/changed at the later series' first index,
    # which every difference below leaves out (a window's pairs start after its first sample)
    drop = vals[1:] < vals[:-1]
    change = (vals[1:] != vals[:-1]) & ~(np.isnan(vals[1:]) & np.isnan(vals[:-1]))
    drops = np.concatenate(([0], np.cumsum(drop)))
    changed = np.concatenate(([0], np.cumsum(change)))
    end_index = max(ts.size - 1, 0)  # an empty series' rows point anywhere valid: its n is 0
    too_many = (drops[np.maximum(off[1:] - 1, 0)] - drops[np.minimum(off[:-1], end_index)]) > MAX_DROPS
    floor = np.minimum(off[:-1], end_index)[:, None]
    top = np.minimum(np.maximum(off[1:] - 1, off[:-1]), end_index)[:, None]
    last = np.minimum(np.maximum(hi - 1, floor), top)
    first = np.minimum(np.maximum(lo, floor), top)
    prev = np.minimum(np.maximum(hi - 2, floor), top)
    if ts.size == 0:  # no sample anywhere: n is 0 everywhere, the rest only has to exist
        z = np.zeros(n.shape)
        return Edges(n, z, z, z, z, z, z, starts, ends, z, z, z), too_many
    resets = np.where(n >= 1, drops[last] - drops[first], 0)
    correction = np.zeros(n.shape)
    positions = np.flatnonzero(drop) + 1
    for r, s in zip(*np.nonzero(resets > 0), strict=True):
        inside = positions[(positions > lo[r, s]) & (positions <= hi[r, s] - 1)]
        correction[r, s] = vals[inside - 1].sum()
    return Edges(
        n, ts[first], vals[first], ts[prev], vals[prev], ts[last], vals[last], starts, ends,
        correction, resets.astype(np.float64), np.where(n >= 1, changed[last] - changed[first], 0).astype(np.float64),
    ), too_many  # fmt: skip


def extrapolated(e: Edges, counter: bool, rate: bool) -> Out:
    """promql/functions.go ``extrapolatedRate`` (v2.42): rate, increase and delta."""
    ok = e.n >= 2
    result = e.v1 - e.v0
    if counter:
        result = result + e.correction
    to_start = (e.t0 - e.start) / 1000
    to_end = (e.end - e.t1) / 1000
    sampled = (e.t1 - e.t0) / 1000
    average = sampled / np.maximum(e.n - 1, 1)
    if counter:
        to_zero = sampled * (e.v0 / result)
        use = (result > 0) & (e.v0 >= 0) & (to_zero < to_start)
        to_start = np.where(use, to_zero, to_start)
    threshold = average * 1.1
    interval = sampled + np.where(to_start < threshold, to_start, average / 2)
    interval = interval + np.where(to_end < threshold, to_end, average / 2)
    factor = interval / sampled
    if rate:
        factor = factor / ((e.end - e.start) / 1000)
    return result * factor, ok


def instant_value(e: Edges, rate: bool) -> Out:
    """irate and idelta: the last two samples."""
    result = np.where(rate & (e.v1 < e.vp), e.v1, e.v1 - e.vp)
    dt = e.t1 - e.tp
    ok = (e.n >= 2) & (dt != 0)
    if rate:
        result = result / (dt / 1000)
    return result, ok


EDGE_FUNCTIONS = {
    "rate": lambda e: extrapolated(e, True, True),
    "increase": lambda e: extrapolated(e, True, False),
    "delta": lambda e: extrapolated(e, False, False),
    "irate": lambda e: instant_value(e, True),
    "idelta": lambda e: instant_value(e, False),
    "resets": lambda e: (e.resets, e.n >= 1),
    "changes": lambda e: (e.changes, e.n >= 1),
    "count_over_time": lambda e: (e.n.astype(np.float64), e.n >= 1),
    "last_over_time": lambda e: (e.v1, e.n >= 1),
    "present_over_time": lambda e: (np.ones(e.n.shape), e.n >= 1),
    "absent_over_time": lambda e: (np.ones(e.n.shape), e.n >= 1),
}
