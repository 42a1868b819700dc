"""``sum`` and ``count`` fold a group's rows at once, with the same floats as Prometheus' loop
(``aggregation`` in promql/engine.go: the first present value, then ``+=`` in row order)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.promql.aggregate import _fold

FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1e16, 1.0, -1e16])


def prometheus_sum(v: np.ndarray, p: np.ndarray) -> np.ndarray:
    out = np.zeros(v.shape[1])
    for j in range(v.shape[1]):
        seen = False
        for i in range(v.shape[0]):
            if p[i, j]:
                out[j] = out[j] + v[i, j] if seen else v[i, j]
                seen = True
    return out


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 12), st.integers(1, 5), st.data())
def test_sum_and_count_are_prometheus_loop(rows: int, steps: int, data: st.DataObject) -> None:
    v = data.draw(arrays(np.float64, (rows, steps), elements=FLOATS))
    p = data.draw(arrays(np.bool_, (rows, steps)))
    present = p.any(axis=0)
    want, got = prometheus_sum(v, p)[present], _fold("sum", v, p)[present]
    # bit for bit (-0.0 and the order of additions), except a NaN's sign and payload: which of
    # two NaN operands x86 passes on differs between a scalar add and numpy's, and a NaN is
    # written "NaN" whatever its bits (a sum is never a stale marker)
    assert (np.isnan(want) == np.isnan(got)).all()
    assert want[~np.isnan(want)].tobytes() == got[~np.isnan(got)].tobytes()
    assert _fold("count", v, p).tolist() == p.sum(axis=0).tolist()


def test_sum_adds_in_row_order_not_pairwise() -> None:
    """1e16 then a thousand 1s: each 1 is lost in row order (Prometheus), not when summed pairwise."""
    v = np.array([[1e16]] + [[1.0]] * 1000)
    assert _fold("sum", v, np.ones_like(v, dtype=bool)).tolist() == [1e16]
