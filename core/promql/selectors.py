"""Selectors over all steps at once: each selector reads its raw samples once for the whole query
(``[first reference - lookback or range, last reference]``), then finds every step's sample or
window with ``np.searchsorted``.

Semantics are Prometheus 2.42's (the version the differential tests run): an instant selector
takes the newest sample in ``[t - lookback, t]`` unless that sample is a stale marker; a range
``x[r]`` holds the samples in ``[t - r, t]`` (closed on both ends; Prometheus >= 3.0 opens the
left end), stale markers dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.promql.context import Ctx
from core.promql.result import Block, Labels, key
from core.promql.rollup_select import rollup_instant
from core.promql.source import select_parts
from core.storage.tsdb.read import is_stale

if TYPE_CHECKING:
    from core.promql.parse import At, Select, Window
    from core.promql.source import RawSeries

_GATHER_CELLS = 1 << 20  # steps x samples gathered at once


def references(ctx: Ctx, offset_ms: int, at: At | None) -> np.ndarray:
    """Each step's reference time: the step (or the ``@`` time) minus the offset."""
    if at is None:
        return ctx.steps - offset_ms
    fixed = {"start": ctx.start_ms, "end": ctx.end_ms}.get(at.kind, at.ms)
    return np.full(len(ctx.steps), fixed - offset_ms, dtype=np.int64)


def instant(ctx: Ctx, sel: Select) -> Block:
    refs = references(ctx, sel.offset_ms, sel.at)
    if (from_rollups := rollup_instant(ctx, sel, refs)) is not None:
        return from_rollups
    steps = len(ctx.steps)
    group = max(1, _CELLS // steps)  # bounds the series x steps matrices of one pass
    parts = []
    for part in select_parts(ctx.source, sel.matchers, int(refs.min()) - ctx.lookback_ms, int(refs.max())):
        ctx.budget.read(sum(len(ts) for _, ts, _ in part))  # a part's samples are dropped after it
        found = sorted((f for f in part if len(f[1])), key=lambda s: key(s[0]))
        parts += [_latest(found[i : i + group], refs, ctx.lookback_ms) for i in range(0, len(found), group)]
    if not parts:
        return Block.empty(steps)
    labels = [lb for part in parts for lb in part[0]]
    if not labels:
        return Block.empty(steps)
    values, present, stamps = (np.concatenate([p[i] for p in parts]) for i in (1, 2, 3))
    return Block(labels, values, present, stamps)


_CELLS = 1 << 21


def _latest(
    found: list[RawSeries], refs: np.ndarray, lookback_ms: int
) -> tuple[list[Labels], np.ndarray, np.ndarray, np.ndarray]:
    """The newest sample at or before each reference time, within the lookback, of each series
    that has one: (labels, values, present, stamps), the arrays series x steps.

    Short series (an instant query's few minutes) all at once: laid end to end with keys
    ``series * span + (ts - base)``, one searchsorted for every (series, step). Long ones (a
    range query over days) one searchsorted each: laying millions of samples end to end cost
    more than the loop it saves."""
    lens = np.fromiter((len(ts) for _, ts, _ in found), np.int64, len(found))
    if lens.sum() > _LONG * len(found):
        return _latest_each(found, refs, lookback_ms)
    firsts = np.r_[0, np.cumsum(lens)[:-1]]
    ts_all = np.concatenate([np.asarray(ts, np.int64) for _, ts, _ in found])
    vals_all = np.concatenate([np.asarray(v, np.float64) for _, _, v in found])
    base = min(int(ts_all.min()), int(refs.min()))
    span = max(int(ts_all.max()), int(refs.max())) - base + 1
    rows = np.arange(len(found), dtype=np.int64)
    keys = np.repeat(rows * span, lens) + (ts_all - base)
    idx = np.searchsorted(keys, rows[:, None] * span + (refs - base)[None, :], "right") - 1
    inside = idx >= firsts[:, None]  # else the sample found belongs to the series before
    safe = np.maximum(idx, 0)
    got, stamps = vals_all[safe], ts_all[safe]
    ok = inside & (stamps >= refs - lookback_ms) & ~is_stale(got)
    keep = ok.any(axis=1)
    labels = [f[0] for f, k in zip(found, keep.tolist(), strict=True) if k]
    return labels, np.where(ok, got, 0.0)[keep], ok[keep], stamps[keep]


_LONG = 1_000  # samples per series, on average, from which each series is searched on its own


def _latest_each(
    found: list[RawSeries], refs: np.ndarray, lookback_ms: int
) -> tuple[list[Labels], np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_latest`, series by series."""
    labels, values, present, stamps = [], [], [], []
    for lb, ts, vals in found:
        idx = np.searchsorted(ts, refs, "right") - 1
        safe = np.maximum(idx, 0)
        got, at = vals[safe], ts[safe]
        ok = (idx >= 0) & (at >= refs - lookback_ms) & ~is_stale(got)
        if ok.any():
            labels.append(lb)
            values.append(np.where(ok, got, 0.0))
            present.append(ok)
            stamps.append(at)
    if not labels:
        z = np.zeros((0, refs.size))
        return [], z, z.astype(bool), z.astype(np.int64)
    return labels, np.array(values), np.array(present), np.array(stamps)


@dataclass
class Windows:
    """Raw series (stale markers dropped) and the window ``[end - range_ms, end]`` of every step."""

    labels: list[Labels]
    series: list[tuple[np.ndarray, np.ndarray]]
    ends: np.ndarray
    range_ms: int


def windows(ctx: Ctx, w: Window) -> Windows:
    """Every series' window at once (a range vector result)."""
    parts = list(window_parts(ctx, w))
    ends = references(ctx, w.sel.offset_ms, w.sel.at)
    return Windows(
        [lb for p in parts for lb in p.labels], [s for p in parts for s in p.series], ends, w.range_ms
    )


def window_parts(ctx: Ctx, w: Window) -> Iterator[Windows]:
    """The windows a part of the series at a time (source.select_parts), in label order: a range
    function over many series holds one part's raw samples at a time."""
    ends = references(ctx, w.sel.offset_ms, w.sel.at)
    for found in select_parts(ctx.source, w.sel.matchers, int(ends.min()) - w.range_ms, int(ends.max())):
        ctx.budget.read(sum(len(ts) for _, ts, _ in found))
        found.sort(key=lambda s: key(s[0]))
        labels, series = [], []
        for lb, ts, vals in found:
            fresh = ~is_stale(vals)
            if fresh.any():
                labels.append(lb)
                series.append((ts[fresh], vals[fresh]))
        yield Windows(labels, series, ends, w.range_ms)


@dataclass
class Gathered:
    """Some steps' windows of one series, left-aligned: row i holds ``n[i]`` samples."""

    steps: slice
    t: np.ndarray  # (steps, width) int64
    v: np.ndarray  # (steps, width) float64
    m: np.ndarray  # (steps, width) bool
    n: np.ndarray  # (steps,)
    start: np.ndarray  # window start per step (ms)
    end: np.ndarray  # window end per step (ms)

    def at(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(timestamp, value) at position ``pos`` of each row (clipped into the row)."""
        p = np.minimum(np.maximum(pos, 0), self.t.shape[1] - 1)[:, None]
        return np.take_along_axis(self.t, p, 1)[:, 0], np.take_along_axis(self.v, p, 1)[:, 0]


def gather(ts: np.ndarray, vals: np.ndarray, ends: np.ndarray, range_ms: int) -> Iterator[Gathered]:
    starts = ends - range_ms
    lo = np.searchsorted(ts, starts, "left")
    hi = np.searchsorted(ts, ends, "right")
    n_all = hi - lo
    width = max(int(n_all.max(initial=0)), 1)
    chunk = max(1, _GATHER_CELLS // width)
    for a in range(0, len(ends), chunk):
        sl = slice(a, min(a + chunk, len(ends)))
        n = n_all[sl]
        cols = np.arange(width)
        idx = np.minimum(np.maximum(lo[sl, None] + cols, 0), max(len(ts) - 1, 0))
        m = cols < n[:, None]
        if len(ts) == 0:
            t, v = np.zeros(idx.shape, np.int64), np.zeros(idx.shape)
        else:
            t, v = ts[idx], vals[idx]
        yield Gathered(sl, t, v, m, n, starts[sl], ends[sl])
