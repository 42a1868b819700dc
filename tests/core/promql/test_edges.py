"""The edge-only path of rate & co. (searchsorted and prefix counts) against the gathered path."""

from __future__ import annotations

import numpy as np
import pytest

from core.promql.edges import EDGE_FUNCTIONS, MAX_DROPS, from_many, from_series
from core.promql.functions import RANGE_FUNCTIONS
from core.promql.selectors import gather


def _series(resets: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 2_000
    ts = np.cumsum(rng.integers(10_000, 20_000, n)).astype(np.int64)
    inc = rng.exponential(3.0, n)
    inc[rng.choice(n, 200)] = 0.0  # unchanged values, for changes()
    vals = np.cumsum(inc)
    for r in np.sort(rng.choice(np.arange(10, n, 10), resets, replace=False)):
        vals[r:] += rng.random() - vals[r - 1]  # the counter restarts near zero
    assert int((vals[1:] < vals[:-1]).sum()) == resets
    return ts, vals


@pytest.mark.parametrize("name", sorted(EDGE_FUNCTIONS))
@pytest.mark.parametrize(("resets", "range_ms"), [(0, 60_000), (5, 300_000), (30, 3_600_000)])
def test_edges_equal_gathered_windows(name: str, resets: int, range_ms: int) -> None:
    ts, vals = _series(resets, seed=resets + range_ms)
    ends = np.arange(int(ts[0]) - 120_000, int(ts[-1]) + 120_000, 37_000, dtype=np.int64)
    edges = from_series(ts, vals, ends, range_ms)
    assert edges is not None
    slow, slow_ok = np.zeros(len(ends)), np.zeros(len(ends), bool)
    with np.errstate(all="ignore"):  # as the engine: x/0 is Inf or NaN, as in Prometheus
        fast, fast_ok = EDGE_FUNCTIONS[name](edges)
        for g in gather(ts, vals, ends, range_ms):
            slow[g.steps], slow_ok[g.steps] = RANGE_FUNCTIONS[name](g, [], ends[g.steps])
    assert fast_ok.any() and (fast_ok == slow_ok).all()
    np.testing.assert_allclose(fast[fast_ok], slow[slow_ok], rtol=1e-12)


def test_many_resets_take_the_gathered_path() -> None:
    ts, vals = _series(MAX_DROPS + 1, seed=3)
    assert from_series(ts, vals, ts[-5:], 300_000) is None


@pytest.mark.parametrize("name", sorted(EDGE_FUNCTIONS))
def test_many_series_at_once_give_each_series_own_windows(name: str) -> None:
    """from_many lays series end to end: no window, drop or change may cross from one series to
    the next, and an empty series has no sample. Each row equals that series' gathered windows."""
    series = [_series(r, seed=10 + r) for r in (0, 3, 12)]
    series.insert(1, (np.zeros(0, np.int64), np.zeros(0)))  # an empty series between two others
    series.append((series[0][0][:3], np.array([5.0, 1.0, 9.0])))  # a drop right at its start
    series.append((np.zeros(0, np.int64), np.zeros(0)))  # and one empty at the end
    series.insert(0, _series(MAX_DROPS + 1, seed=3))  # too many drops: left to the gathered path
    ends = np.arange(int(series[1][0][0]) - 120_000, int(series[1][0][-1]) + 120_000, 41_000, dtype=np.int64)
    with np.errstate(all="ignore"):
        many, too_many = from_many(series, ends, 600_000)
        out, ok = (np.broadcast_to(a, many.n.shape) for a in EDGE_FUNCTIONS[name](many))
        assert too_many.tolist() == [True] + [False] * (len(series) - 1)
        for row, (ts, vals) in enumerate(series[1:], start=1):
            slow, slow_ok = np.zeros(len(ends)), np.zeros(len(ends), bool)
            for g in gather(ts, vals, ends, 600_000):
                slow[g.steps], slow_ok[g.steps] = RANGE_FUNCTIONS[name](g, [], ends[g.steps])
            assert (ok[row] == slow_ok).all()
            np.testing.assert_allclose(out[row][slow_ok], slow[slow_ok], rtol=1e-12)
