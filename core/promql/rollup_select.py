"""Instant selectors at steps on whole hours, answered from hour rollups.

At a reference time ``t`` on an hour, Prometheus 2's instant selector is the newest sample at or
before ``t`` within the lookback (5 minutes by default, at most an hour here): the sample exactly
at ``t`` if there is one, which is the first sample of the bucket starting at ``t`` (rollups keep
``first`` and ``first_ts``), else the last sample of the bucket before, if its time
(``last_ts``) is within the lookback. So a range query whose steps all fall on hours (``sum by
(team) (x)`` over 30 days at a 3 h step, as Grafana aligns long ranges) reads one or two rollup
rows per step instead of every raw sample. Rollups leave stale markers out, so the source
declines when a selected series ever had one (``series.stale_seen``); a bucket whose first or
last time is not known (rollups written before they were kept) sends the query to the raw path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.promql.result import Block, key

if TYPE_CHECKING:
    from core.promql.context import Ctx
    from core.promql.parse import Select
    from core.promql.rollup_windows import Buckets

HOUR = 3_600_000


def rollup_instant(ctx: Ctx, sel: Select, refs: np.ndarray) -> Block | None:
    """The selector's block from hour rollups, or None: take the raw path."""
    select = getattr(ctx.source, "select_buckets", None)
    if select is None or refs.size < 2 or ctx.lookback_ms > HOUR or (refs % HOUR).any():
        return None
    found = select(sel.matchers, HOUR, int(refs.min()) - HOUR, int(refs.max()))
    if found is None:
        return None
    ctx.budget.read(sum(len(b.ts) for _, b in found))
    labels, values, present, stamps = [], [], [], []
    for lb, buckets in sorted(found, key=lambda s: key(s[0])):
        ctx.budget.tick()
        value, ok, at, unknown = latest(buckets, refs, ctx.lookback_ms)
        if unknown.any():
            return None
        if ok.any():
            labels.append(lb)
            values.append(np.where(ok, value, 0.0))
            present.append(ok)
            stamps.append(at)
    if not labels:
        return Block.empty(refs.size)
    return Block(labels, np.array(values), np.array(present), np.array(stamps))


def latest(b: Buckets, refs: np.ndarray, lookback_ms: int) -> tuple[np.ndarray, ...]:
    """Per reference time on a bucket start: (value, present, sample time, not known)."""
    n = b.ts.size
    if n == 0:
        none = np.zeros(refs.size, bool)
        return np.zeros(refs.size), none, np.zeros(refs.size, np.int64), none
    here = np.minimum(np.searchsorted(b.ts, refs), n - 1)
    before = np.minimum(np.searchsorted(b.ts, refs - HOUR), n - 1)
    has_here = b.ts[here] == refs
    has_before = b.ts[before] == refs - HOUR
    first_ts, last_ts = b.first_ts[here], b.last_ts[before]
    exact = has_here & (first_ts == refs)
    earlier = has_before & ~exact
    recent = earlier & (last_ts >= refs - lookback_ms)
    unknown = (has_here & np.isnan(first_ts)) | (earlier & np.isnan(last_ts))
    value = np.where(exact, b.first[here], b.last[before])
    stamp = np.where(exact, refs, np.nan_to_num(last_ts)).astype(np.int64)
    return value, exact | recent, stamp, unknown
