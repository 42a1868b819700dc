"""Replay: recommendations from week 1 of demo history applied to week 2 of the same fleet.

Week 2 "usage" is what each server would use without limits (the demo's demand, plus the
memory leak incident's working set), sampled every minute, finer than the stored history.
"""

from __future__ import annotations

import numpy as np
import pytest

from collectors.demo import DemoCollector
from collectors.demo.fleet import ServerParams, activity, demand
from collectors.demo.signals import season, trend
from collectors.demo.topology import OVER_FACTOR
from core.optimization.model import Recommendation
from core.optimization.rightsizing import rightsize
from core.optimization.settings import UsageSettings
from core.storage.tsdb import Store
from tests.core.optimization.conftest import END, WEEK1_END


def week2_usage(demo: DemoCollector) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Server names, CPU cores (S, T) and memory bytes (S, T) every minute of week 2."""
    t = np.arange(WEEK1_END // 1000, END // 1000, 60, dtype=np.int64)
    params = ServerParams.of(demo.topology)
    cpu, mem = demand(params, t, activity(season(t) * trend(t), params.k["act"], t))
    values, _ = demo._model.evaluate(t)
    keys = demo._model.keys
    rows = [i for i, (m, _) in enumerate(keys) if m == "container_memory_working_set_bytes"]
    mem = np.maximum(mem, values[rows])  # the leak's working set is not part of the demand
    return [s.name for s in demo.topology.servers], cpu, mem


@pytest.fixture(scope="module")
def recs(history: Store) -> dict[str, Recommendation]:
    found = rightsize(history, WEEK1_END, usage_settings=UsageSettings(window_days=7))
    return {r.server: r for r in found}


def test_every_container_gets_a_defined_recommendation_with_evidence(
    recs: dict[str, Recommendation], demo: DemoCollector
) -> None:
    assert set(recs) == {s.name for s in demo.topology.servers}
    for r in recs.values():
        assert r.defined, r.reason
        ev = r.evidence
        assert ev.points >= 100 and ev.history_hours >= 24 * 6.9 and ev.memory_peak and ev.cpu_p95
        assert r.recommended is not None and r.recommended.memory_limit is not None
        assert r.recommended.memory_limit >= ev.memory_peak * 1.15 - 1


def test_week2_has_no_oom_and_under_one_percent_throttling(
    recs: dict[str, Recommendation], demo: DemoCollector
) -> None:
    names, cpu, mem = week2_usage(demo)
    mem_limit = np.array([[recs[n].recommended.memory_limit] for n in names])  # type: ignore[union-attr]
    cpu_limit = np.array([[recs[n].recommended.cpu_limit] for n in names])  # type: ignore[union-attr]
    ooms = (mem > mem_limit).sum(axis=1)
    throttled = (cpu > cpu_limit).mean(axis=1)
    assert ooms.sum() == 0, {n: int(k) for n, k in zip(names, ooms, strict=True) if k}
    assert throttled.max() < 0.01, {n: float(x) for n, x in zip(names, throttled, strict=True) if x}
    # the same limits before right-sizing: the under-provisioned servers did hit them
    old_mem = np.array([[s.memory_limit] for s in demo.topology.servers])
    old_cpu = np.array([[s.cpu_limit] for s in demo.topology.servers])
    assert (mem > old_mem).any() and (cpu > old_cpu).mean(axis=1).max() > 0.01


def test_saves_most_of_the_deliberate_over_provisioning(
    recs: dict[str, Recommendation], demo: DemoCollector
) -> None:
    over = [s for s in demo.topology.servers if s.profile == "over"]
    assert over
    # the deliberate part: each over server requests OVER_FACTOR times its kind's resources
    excess_cores = sum(s.cpu_request * (1 - 1 / OVER_FACTOR) for s in over)
    excess_bytes = sum(s.memory_request * (1 - 1 / OVER_FACTOR) for s in over)
    saved_cores = sum(recs[s.name].savings_cores for s in over)
    saved_bytes = sum(recs[s.name].savings_gib * 2**30 for s in over)
    assert saved_cores >= 0.3 * excess_cores and saved_bytes >= 0.3 * excess_bytes
    under = [recs[s.name] for s in demo.topology.servers if s.profile == "under"]
    assert all({"cpu_throttling", "oom_kills"} <= {k.kind for k in r.risks} for r in under)
    assert all(r.savings_monthly < 0 for r in under)  # they need more, and it costs
