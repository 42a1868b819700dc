"""The evaluator: a plan evaluated for all steps of a query at once.

Each node evaluates once for the whole step range: a vector gives a :class:`Block` (rows x
steps), a scalar a float array per step, a string a ``str``; range selectors and subqueries
are only ever consumed by range functions, which read their windows with ``searchsorted``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.promql import selectors
from core.promql.aggregate import aggregate
from core.promql.binary import COMPARISON, scalar_scalar, set_operation, vector_scalar, vector_vector
from core.promql.context import Ctx
from core.promql.edges import EDGE_CELLS, EDGE_FUNCTIONS, from_many
from core.promql.errors import PromQLEvalError, PromQLUnsupported
from core.promql.functions import MATRIX_ARG, RANGE_FUNCTIONS
from core.promql.instant import call_instant
from core.promql.parse import Aggregate, Binary, Call, Negate, Number, Select, Str, Subquery, Window
from core.promql.result import Block, drop_name
from core.promql.rollup_eval import rollup_call
from core.promql.selectors import Windows, gather

Value = Block | np.ndarray | str


def evaluate(plan: Any, ctx: Ctx) -> Value:
    n = len(ctx.steps)
    if isinstance(plan, Number):
        return np.full(n, plan.value)
    if isinstance(plan, Str):
        return plan.value
    if isinstance(plan, Select):
        return selectors.instant(ctx, plan)
    if isinstance(plan, Negate):
        inner = evaluate(plan.expr, ctx)
        if isinstance(inner, Block):
            return Block([drop_name(lb) for lb in inner.labels], -inner.values, inner.present).merged()
        return -np.asarray(inner)
    if isinstance(plan, Aggregate):
        return _aggregate(plan, ctx)
    if isinstance(plan, Binary):
        return _binary(plan, ctx)
    if isinstance(plan, Call):
        return _call(plan, ctx)
    if isinstance(plan, Window | Subquery):
        raise PromQLEvalError("PromQL: a range vector can only be an argument of a range function")
    raise PromQLUnsupported(f"expression {type(plan).__name__}")


def _aggregate(plan: Aggregate, ctx: Ctx) -> Block:
    param: object = None
    if plan.param is not None:
        param = evaluate(plan.param, ctx)
    inner = evaluate(plan.expr, ctx)
    assert isinstance(inner, Block)
    return aggregate(plan.op, inner, plan.labels, plan.without, param)


def _binary(plan: Binary, ctx: Ctx) -> Value:
    lhs, rhs = evaluate(plan.lhs, ctx), evaluate(plan.rhs, ctx)
    if isinstance(lhs, Block) and isinstance(rhs, Block):
        if plan.card == "many-to-many":
            return set_operation(plan, lhs, rhs)
        return vector_vector(plan, lhs, rhs)
    if isinstance(lhs, Block):
        return vector_scalar(plan.op, lhs, np.asarray(rhs), False, plan.bool)
    if isinstance(rhs, Block):
        return vector_scalar(plan.op, rhs, np.asarray(lhs), True, plan.bool)
    if plan.op in COMPARISON and not plan.bool:
        raise PromQLEvalError("comparisons between scalars must use BOOL modifier")
    return scalar_scalar(plan.op, np.asarray(lhs), np.asarray(rhs))


def subquery_windows(plan: Subquery, ctx: Ctx) -> Windows:
    """The inner expression evaluated on its own aligned step grid, as raw series."""
    ends = selectors.references(ctx, plan.offset_ms, plan.at)
    step = plan.step_ms or ctx.subquery_step_ms
    first = int(ends.min()) - plan.range_ms
    start = -(-first // step) * step  # the first multiple of step at or after `first`
    grid = np.arange(start, int(ends.max()) + 1, step, dtype=np.int64)
    if len(grid) == 0:
        return Windows([], [], ends, plan.range_ms)
    inner = evaluate(plan.expr, ctx.at_steps(grid))
    ctx.budget.read(int(inner.present.sum()) if isinstance(inner, Block) else 0)
    if not isinstance(inner, Block):
        raise PromQLUnsupported("a subquery of a scalar expression")
    series = [(grid[p], v[p]) for v, p in zip(inner.values, inner.present, strict=True)]
    return Windows(list(inner.labels), series, ends, plan.range_ms)


def _range_call(plan: Call, ctx: Ctx) -> Block:
    pos = MATRIX_ARG.get(plan.name, 0)
    arg = plan.args[pos]
    if isinstance(arg, Window) and (from_rollups := rollup_call(plan, arg, ctx)) is not None:
        return from_rollups
    extra = [np.asarray(evaluate(a, ctx), dtype=np.float64) for i, a in enumerate(plan.args) if i != pos]
    fn = RANGE_FUNCTIONS[plan.name]
    n = len(ctx.steps)
    labels, values, present = [], [], []
    by_edges = EDGE_FUNCTIONS.get(plan.name)
    parts = selectors.window_parts(ctx, arg) if isinstance(arg, Window) else [subquery_windows(arg, ctx)]
    for w in parts:  # a part of the series at a time: its raw samples go before the next part's come
        rows = _edge_rows(by_edges, w, ctx) if by_edges else {}
        for i, (lb, (ts, vals)) in enumerate(zip(w.labels, w.series, strict=True)):
            if i in rows:
                out, ok = rows[i]
            else:
                ctx.budget.tick()
                out, ok = np.zeros(n), np.zeros(n, bool)
                for g in gather(ts, vals, w.ends, w.range_ms):
                    v, k = fn(g, [a[g.steps] for a in extra], ctx.steps[g.steps])
                    out[g.steps], ok[g.steps] = v, k
            if ok.any():
                labels.append(lb if plan.name == "last_over_time" else drop_name(lb))
                values.append(out)
                present.append(ok)
    if plan.name == "absent_over_time":
        seen: np.ndarray = np.asarray(np.array(present).any(axis=0)) if present else np.zeros(n, bool)
        return Block([dict(plan.absent_labels)], np.ones((1, n)), ~seen[None, :]).compact()
    if not labels:
        return Block.empty(n)
    return Block(labels, np.array(values), np.array(present)).merged()


def _edge_rows(by_edges: Any, w: Windows, ctx: Ctx) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Each series' (values, present) of an edge function, from_many over as many series at a
    time as fit ``EDGE_CELLS`` (series x steps); a series with too many counter drops is left out
    (the gathered path takes it)."""
    rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    per_batch = max(1, EDGE_CELLS // max(len(w.ends), 1))
    for at in range(0, len(w.series), per_batch):
        ctx.budget.tick()
        edges, too_many = from_many(w.series[at : at + per_batch], w.ends, w.range_ms)
        out, ok = by_edges(edges)
        out, ok = np.broadcast_to(out, edges.n.shape), np.broadcast_to(ok, edges.n.shape)
        for j in np.flatnonzero(~too_many).tolist():
            rows[at + j] = (out[j], ok[j])
    return rows


def _call(plan: Call, ctx: Ctx) -> Value:
    if plan.name in RANGE_FUNCTIONS:
        return _range_call(plan, ctx)
    args = [evaluate(a, ctx) for a in plan.args]
    return call_instant(plan.name, args, ctx.steps, plan)
