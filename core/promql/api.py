"""The engine's entry points: instant and range queries over a source (the Store or memory).

Times are Unix milliseconds. Numpy's floating point warnings are silenced during evaluation:
division by zero, ``ln(0)`` and the like give Inf or NaN, exactly as in Prometheus.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.promql.context import DEFAULT_SUBQUERY_STEP_MS, LOOKBACK_MS, MAX_SAMPLES, TIMEOUT_S, Budget, Ctx
from core.promql.errors import PromQLError
from core.promql.evaluator import evaluate, subquery_windows
from core.promql.parse import Plan, Subquery, Window, parse
from core.promql.result import Block, Matrix, Result, Scalar, Series, String, key, to_matrix, to_vector
from core.promql.selectors import windows
from core.promql.source import Source

MAX_POINTS = 11_000  # Prometheus' API refuses range queries with more steps


class Engine:
    """PromQL over one source; ``lookback_ms`` and the default subquery step as in Prometheus."""

    def __init__(
        self,
        source: Source,
        lookback_ms: int = LOOKBACK_MS,
        subquery_step_ms: int = DEFAULT_SUBQUERY_STEP_MS,
        max_samples: int = MAX_SAMPLES,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.source = source
        self.lookback_ms = lookback_ms
        self.subquery_step_ms = subquery_step_ms
        self.max_samples, self.timeout_s = max_samples, timeout_s

    def _ctx(self, steps: np.ndarray, start: int, end: int) -> Ctx:
        budget = Budget(self.max_samples, self.timeout_s)
        return Ctx(steps, self.source, start, end, self.lookback_ms, self.subquery_step_ms, budget)

    def instant(self, query: str | Plan, t_ms: int) -> Result:
        plan = parse(query) if isinstance(query, str) else query
        ctx = self._ctx(np.array([t_ms], dtype=np.int64), t_ms, t_ms)
        with np.errstate(all="ignore"):
            if isinstance(plan, Window | Subquery):
                w = windows(ctx, plan) if isinstance(plan, Window) else subquery_windows(plan, ctx)
                lo, hi = int(w.ends[0]) - w.range_ms, int(w.ends[0])
                out = []
                for lb, (ts, vals) in zip(w.labels, w.series, strict=True):
                    keep = (ts >= lo) & (ts <= hi)
                    if keep.any():
                        out.append(Series(lb, ts[keep], vals[keep]))
                return Matrix(sorted(out, key=lambda s: key(s.labels)))
            value = evaluate(plan, ctx)
        if isinstance(value, Block):
            return to_vector(value, t_ms)
        if isinstance(value, str):
            return String(value, t_ms)
        return Scalar(float(value[0]), t_ms)

    def range(self, query: str | Plan, start_ms: int, end_ms: int, step_ms: int) -> Matrix:
        plan = parse(query) if isinstance(query, str) else query
        if step_ms <= 0:
            raise PromQLError("zero or negative query resolution step widths are not accepted")
        if end_ms < start_ms:
            raise PromQLError("end timestamp must not be before start time")
        if (end_ms - start_ms) // step_ms > MAX_POINTS:
            raise PromQLError(
                f"exceeded maximum resolution of {MAX_POINTS:,} points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        if plan.type not in ("vector", "scalar"):
            raise PromQLError(
                f'invalid expression type "{_type_name(plan.type)}" for range query, must be Scalar or instant Vector'
            )
        steps = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        with np.errstate(all="ignore"):
            value = evaluate(plan, self._ctx(steps, start_ms, end_ms))
        if isinstance(value, Block):
            return to_matrix(value, steps)
        return Matrix([Series({}, steps, np.asarray(value, dtype=np.float64))])


def _type_name(t: str) -> str:
    return {"matrix": "range vector", "vector": "instant vector"}.get(t, t)


def evaluate_instant(query: str, t_ms: int, source: Source, **options: Any) -> Result:
    return Engine(source, **options).instant(query, t_ms)


def evaluate_range(
    query: str, start_ms: int, end_ms: int, step_ms: int, source: Source, **options: Any
) -> Matrix:
    return Engine(source, **options).range(query, start_ms, end_ms, step_ms)


def supported() -> dict[str, list[str]]:
    """What the engine evaluates, for query editors and docs: functions and aggregations."""
    from core.promql.functions import RANGE_FUNCTIONS
    from core.promql.instant import INSTANT_FUNCTIONS
    from core.promql.parse import AGGREGATIONS

    return {
        "functions": sorted(set(RANGE_FUNCTIONS) | INSTANT_FUNCTIONS),
        "aggregations": sorted(AGGREGATIONS),
    }
