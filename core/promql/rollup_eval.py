"""The rollup path of the evaluator: ``min/max/sum/count/avg_over_time(x[range])`` answered from
rollup buckets and the raw samples of the window edges (:mod:`core.promql.rollup_windows`).

None means "take the raw path": the function or window does not qualify, the source has no
rollups or declines, or a window's sum overflowed (the raw path has Prometheus' exact forms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.promql import selectors
from core.promql.result import Block, drop_name, key
from core.promql.rollup_windows import ROLLUP_FUNCTIONS, bucket_width, raw_intervals, result, summarise

if TYPE_CHECKING:
    from core.promql.context import Ctx
    from core.promql.parse import Call, Window


def rollup_call(plan: Call, w: Window, ctx: Ctx) -> Block | None:
    select = getattr(ctx.source, "select_rollup", None)
    if plan.name not in ROLLUP_FUNCTIONS or select is None:
        return None
    ends = selectors.references(ctx, w.sel.offset_ms, w.sel.at)
    width = bucket_width(w.range_ms, ends)
    if width is None:
        return None
    intervals = raw_intervals(ends, w.range_ms, width)
    found = select(w.sel.matchers, width, int(ends.min()) - w.range_ms, int(ends.max()), intervals)
    if found is None:
        return None
    ctx.budget.read(sum(len(ts) + len(b.ts) for _, b, ts, _ in found))
    found.sort(key=lambda s: key(s[0]))
    labels, values, present = [], [], []
    for lb, buckets, ts, vals in found:
        ctx.budget.tick()
        out, ok, redo = result(plan.name, summarise(buckets, ts, vals, ends, w.range_ms, width))
        if redo.any():
            return None
        if ok.any():
            labels.append(drop_name(lb))
            values.append(out)
            present.append(ok)
    if not labels:
        return Block.empty(len(ctx.steps))
    return Block(labels, np.array(values), np.array(present)).merged()
