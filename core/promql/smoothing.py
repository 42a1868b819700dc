"""``holt_winters(x[range], sf, tf)``: Prometheus 2.42's double exponential smoothing.

Operation for operation as ``funcHoltWinters`` and ``calcTrendValue`` in promql/functions.go
(renamed ``double_exponential_smoothing`` in Prometheus 3): the level starts at the first sample
and the trend at the difference of the first two; each further sample updates both. The
recurrence runs along the window for every step at once (one numpy pass per sample position);
a window with fewer than two samples gives nothing. A smoothing or trend factor outside (0, 1)
fails the query, as Prometheus' panic does, but only where a window holds samples.
"""

from __future__ import annotations

import numpy as np

from core.promql.errors import PromQLEvalError
from core.promql.selectors import Gathered


def _check(name: str, factor: np.ndarray, live: np.ndarray) -> None:
    bad = live & ((factor <= 0) | (factor >= 1))
    if bad.any():
        got = float(factor[bad][0])
        raise PromQLEvalError(f"invalid {name} factor. Expected: 0 < {name[0]}f < 1, got: {got:f}")


def holt_winters(g: Gathered, args: list[np.ndarray], _t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sf, tf = args
    _check("smoothing", sf, g.n > 0)
    _check("trend", tf, g.n > 0)
    v, n = g.v, g.n
    s0 = np.zeros(len(n))
    s1 = v[:, 0].copy()
    b = v[:, 1] - v[:, 0] if v.shape[1] > 1 else np.zeros(len(n))
    for i in range(1, v.shape[1]):
        live = i < n
        x = sf * v[:, i]
        trend = b if i == 1 else tf * (s1 - s0) + (1 - tf) * b
        y = (1 - sf) * (s1 + trend)
        b = np.where(live, trend, b)
        s0, s1 = np.where(live, s1, s0), np.where(live, x + y, s1)
    return s1, n >= 2
