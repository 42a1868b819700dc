"""Range-vector functions (``rate(x[5m])``, ``*_over_time``...) over gathered windows.

Each function takes the windows of one series for a batch of steps (:class:`Gathered`) and
returns ``(value, ok)`` per step; ``ok`` False drops the step (fewer than two samples for rate).
The code follows Prometheus 2.42's promql/functions.go, operation for operation where the order
of floating point operations matters (``extrapolatedRate``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.promql.edges import EDGE_FUNCTIONS, Edges
from core.promql.selectors import Gathered
from core.promql.smoothing import holt_winters

Out = tuple[np.ndarray, np.ndarray]
Args = list[np.ndarray]  # per-step scalar arguments, sliced to the gathered steps


def edges_of(g: Gathered) -> Edges:
    """The gathered windows' edges, for the functions of :mod:`core.promql.edges`."""
    tp, vp = g.at(g.n - 2)
    t1, v1 = g.at(g.n - 1)
    cur, prev, pairs = g.v[:, 1:], g.v[:, :-1], g.m[:, 1:]
    drops = pairs & (cur < prev)
    changes = pairs & (cur != prev) & ~(np.isnan(cur) & np.isnan(prev))
    return Edges(
        g.n, g.t[:, 0], g.v[:, 0], tp, vp, t1, v1, g.start, g.end,
        np.where(drops, prev, 0.0).sum(axis=1), drops.sum(axis=1).astype(np.float64),
        changes.sum(axis=1).astype(np.float64),
    )  # fmt: skip


def _regression(g: Gathered, intercept_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """promql/functions.go ``linearRegression``: slope and intercept at ``intercept_ms``."""
    n = g.n.astype(np.float64)
    x = np.where(g.m, (g.t - intercept_ms[:, None]) / 1e3, 0.0)
    y = np.where(g.m, g.v, 0.0)
    sx, sy = x.sum(axis=1), y.sum(axis=1)
    sxy, sx2 = (x * y).sum(axis=1), (x * x).sum(axis=1)
    slope = (sxy - sx * sy / n) / (sx2 - sx * sx / n)
    icpt = sy / n - slope * sx / n
    first = g.v[:, 0]
    const = ~(g.m & (g.v != first[:, None])).any(axis=1)
    inf = np.isinf(first)
    slope = np.where(const, np.where(inf, np.nan, 0.0), slope)
    icpt = np.where(const, np.where(inf, np.nan, first), icpt)
    return slope, icpt


def quantile(q: np.ndarray, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Prometheus' ``quantile``: rows of ``values`` where ``mask``, NaN sorting first."""
    n = mask.sum(axis=1)
    keyed = np.where(mask, np.where(np.isnan(values), -np.inf, values), np.inf)
    order = np.argsort(keyed, axis=1, kind="stable")
    ranked = np.take_along_axis(values, order, 1)
    rank = q * (n - 1)
    lower = np.maximum(0, np.floor(rank))
    upper = np.minimum(n - 1, lower + 1)
    weight = rank - np.floor(rank)
    li = np.clip(np.nan_to_num(lower), 0, values.shape[1] - 1).astype(np.int64)[:, None]
    ui = np.clip(np.nan_to_num(upper), 0, values.shape[1] - 1).astype(np.int64)[:, None]
    lo_v = np.take_along_axis(ranked, li, 1)[:, 0]
    hi_v = np.take_along_axis(ranked, ui, 1)[:, 0]
    out = lo_v * (1 - weight) + hi_v * weight
    out = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, out))
    return np.where((n == 0) | np.isnan(q), np.nan, out)


def _masked(g: Gathered, fill: float) -> np.ndarray:
    return np.where(g.m, g.v, fill)


def _kahan_inc(inc: np.ndarray, total: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """functions.go ``kahanSumInc``, elementwise."""
    t = total + inc
    big = np.abs(total) >= np.abs(inc)
    return t, c + np.where(big, (total - t) + inc, (inc - t) + total)


def _sum_exact(g: Gathered) -> np.ndarray:
    total, c = np.zeros(len(g.n)), np.zeros(len(g.n))
    for j in range(g.v.shape[1]):
        here = g.m[:, j]
        t, c2 = _kahan_inc(g.v[:, j], total, c)
        total, c = np.where(here, t, total), np.where(here, c2, c)
    return np.where(np.isinf(total), total, total + c)


def _avg_exact(g: Gathered) -> np.ndarray:
    """avg_over_time as functions.go: an incremental Kahan mean (no overflow on huge values)."""
    mean, c, count = np.zeros(len(g.n)), np.zeros(len(g.n)), np.zeros(len(g.n))
    for j in range(g.v.shape[1]):
        v, here = g.v[:, j], g.m[:, j]
        count = count + here
        inf = np.isinf(mean)
        skip = inf & ((np.isinf(v) & ((mean > 0) == (v > 0))) | (~np.isinf(v) & ~np.isnan(v)))
        k = np.maximum(count, 1)
        m2, c2 = _kahan_inc(v / k - mean / k, mean, c)
        use = here & ~skip
        mean, c = np.where(use, m2, mean), np.where(use, c2, c)
    return np.where(np.isinf(mean), mean, mean + c)


def _variance_exact(g: Gathered) -> np.ndarray:
    """stdvar_over_time as functions.go: Welford with Kahan sums."""
    z = np.zeros(len(g.n))
    count, mean, c_mean, aux, c_aux = z, z, z, z, z
    for j in range(g.v.shape[1]):
        v, here = g.v[:, j], g.m[:, j]
        count = count + here
        delta = v - (mean + c_mean)
        m2, cm2 = _kahan_inc(delta / np.maximum(count, 1), mean, c_mean)
        a2, ca2 = _kahan_inc(delta * (v - (m2 + cm2)), aux, c_aux)
        mean, c_mean = np.where(here, m2, mean), np.where(here, cm2, c_mean)
        aux, c_aux = np.where(here, a2, aux), np.where(here, ca2, c_aux)
    return (aux + c_aux) / count


def _any(g: Gathered) -> np.ndarray:
    return g.n >= 1


# The loops above cost one numpy call per window column; the fast paths below are whole-array
# sums (pairwise summation, as exact as Kahan to ~1e-15) and fall back to the loops only where
# a sum overflowed although every input is finite, where Prometheus' incremental forms do not.
def _exact_where(out: np.ndarray, g: Gathered, exact: Callable[[Gathered], np.ndarray]) -> np.ndarray:
    finite_inputs = ~(g.m & ~np.isfinite(g.v)).any(axis=1)
    redo = ~np.isfinite(out) & finite_inputs
    return np.where(redo, exact(g), out) if redo.any() else out


def _sum(g: Gathered) -> np.ndarray:
    return _exact_where(_masked(g, 0.0).sum(axis=1), g, _sum_exact)


def _avg(g: Gathered) -> np.ndarray:
    return _exact_where(_masked(g, 0.0).sum(axis=1) / g.n, g, _avg_exact)


def _variance(g: Gathered) -> np.ndarray:
    mean = _masked(g, 0.0).sum(axis=1) / g.n
    out = np.where(g.m, (g.v - mean[:, None]) ** 2, 0.0).sum(axis=1) / g.n
    constant = ~(g.m & (g.v != g.v[:, :1])).any(axis=1) & np.isfinite(g.v[:, 0])
    return _exact_where(np.where(constant, 0.0, out), g, _variance_exact)  # Welford gives 0 exactly


RangeFn = Callable[[Gathered, Args, np.ndarray], Out]


def _on_edges(f: Callable[[Edges], Out]) -> RangeFn:
    return lambda g, a, t: f(edges_of(g))


RANGE_FUNCTIONS: dict[str, RangeFn] = {
    **{name: _on_edges(f) for name, f in EDGE_FUNCTIONS.items()},
    "deriv": lambda g, a, t: (_regression(g, g.t[:, 0])[0], g.n >= 2),
    "predict_linear": lambda g, a, t: _predict(g, a[0], t),
    "avg_over_time": lambda g, a, t: (_avg(g), _any(g)),
    "min_over_time": lambda g, a, t: (np.fmin.reduce(_masked(g, np.nan), axis=1), _any(g)),
    "max_over_time": lambda g, a, t: (np.fmax.reduce(_masked(g, np.nan), axis=1), _any(g)),
    "sum_over_time": lambda g, a, t: (_sum(g), _any(g)),
    "quantile_over_time": lambda g, a, t: (quantile(a[0], g.v, g.m), _any(g)),
    "stddev_over_time": lambda g, a, t: (np.sqrt(_variance(g)), _any(g)),
    "stdvar_over_time": lambda g, a, t: (_variance(g), _any(g)),
    "double_exponential_smoothing": holt_winters,  # also as holt_winters (parse.py renames it)
}
MATRIX_ARG = {"quantile_over_time": 1}  # index of the range argument when it is not the first


def _predict(g: Gathered, duration: np.ndarray, eval_ms: np.ndarray) -> Out:
    slope, icpt = _regression(g, eval_ms)
    return slope * duration + icpt, g.n >= 2
