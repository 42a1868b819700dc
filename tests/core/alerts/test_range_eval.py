"""Range evaluation gives the transitions the step-by-step engine gives, on the same short history.

A few hours of crafted series (a gauge crossing thresholds with noise, a gap, a climbing trend,
counters with a restart) and a rule of each kind: threshold with ``for`` and hysteresis,
``keep_firing_for``, min and quantile over time, absent, change, predict, divide_by of rates,
an aggregation across series, and anomaly (not range-evaluable: evaluated step by step).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from core.alerts.range_eval import RangeEvaluator
from core.alerts.rule_engine import AlertEngine
from core.alerts.rules import RuleGroup
from core.kernel.samples import Sample, labels_of
from core.storage.repos.alert_states import read_transitions
from core.storage.tsdb import Store
from tests.conftest import FakeClock

MIN = 60_000
HOURS = 5

RULES = [
    {"alert": "GaugeHigh", "query": "g", "window": "5m", "threshold": 0.8, "resolve_threshold": 0.7, "for": "3m"},
    {"alert": "GaugeLow", "query": 'g{host="b"}', "over": "min", "window": "2m", "op": "<", "threshold": 0.2},
    {"alert": "GaugeKept", "query": "g", "over": "max", "window": "2m", "threshold": 0.9, "keep_firing_for": "4m"},
    {"alert": "GaugeP90", "query": "g", "over": "quantile", "quantile": 0.9, "window": "10m", "threshold": 0.85},
    {"alert": "GaugeGone", "query": 'g{host="c"}', "condition": "absent", "window": "3m", "for": "2m"},
    {"alert": "GaugeJump", "query": "g", "condition": "change", "window": "10m", "change_window": "30m",
     "threshold": 0.3, "for": "2m"},
    {"alert": "GaugeFull", "query": "g", "condition": "predict", "window": "1h", "horizon": "1h",
     "op": ">=", "threshold": 1.0, "for": "5m"},
    {"alert": "ErrorRatio", "query": "errs_total", "divide_by": "calls_total", "over": "rate", "window": "5m",
     "threshold": 0.2, "resolve_threshold": 0.1, "for": "2m", "min_divisor": 0.05},
    {"alert": "TeamAvg", "query": "g", "across": "avg", "by": ["team"], "window": "5m", "threshold": 0.7},
    {"alert": "GaugeOdd", "query": "g", "condition": "anomaly", "window": "5m", "baseline": "1h",
     "threshold": 3},
]  # fmt: skip


def _history(start_ms: int) -> list[Sample]:
    rng = np.random.default_rng(7)
    ts = np.arange(start_ms, start_ms + HOURS * 3_600_000, 30_000)
    x = (ts - start_ms) / 3_600_000
    gauges = {
        "a": 0.6 + 0.3 * np.sin(x * 2.5) + 0.05 * rng.standard_normal(ts.size),
        "b": np.clip(0.5 + 0.4 * np.sin(x * 4 + 1) + 0.08 * rng.standard_normal(ts.size), 0, 1.2),
        "c": 0.3 + 0.2 * x + 0.02 * rng.standard_normal(ts.size),  # climbs: predicted full
    }
    out: list[Sample] = []
    for host, values in gauges.items():
        team = "red" if host != "b" else "blue"
        for t, v, h in zip(ts, values, x, strict=True):
            if host == "c" and 2.0 <= h < 2.3:
                continue  # a gap: absent
            out.append(Sample("g", labels_of(host=host, team=team), int(t), float(v)))
    calls = errs = 0.0
    for t, h in zip(ts, x, strict=True):
        if abs(h - 3.0) < 1e-9:
            calls = errs = 0.0  # the process restarted
        calls += 6 + rng.integers(0, 3)
        errs += rng.integers(0, 2) + (4 if 1.0 <= h < 1.5 else 0)
        out.append(Sample("calls_total", labels_of(host="a"), int(t), calls))
        out.append(Sample("errs_total", labels_of(host="a"), int(t), errs))
    return out


@pytest.mark.parametrize("backend", ["sqlite"])
def test_range_evaluation_gives_the_step_by_step_transitions(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    start = clock.ms
    end = start + HOURS * 3_600_000
    clock.now = end / 1000
    store = make_store()
    store.write(_history(start))
    store.run_rollups()
    store.compact()
    group = RuleGroup.model_validate({"name": "g", "interval": "1m", "rules": RULES})

    ranged = RangeEvaluator(store, [group]).run(start, end)
    assert ranged.skipped == {}, ranged.skipped
    assert ranged.stepwise == {"g/GaugeOdd": "the anomaly baseline's buckets move with every evaluation"}
    assert ranged.skipped == {}

    engine = AlertEngine(store, store.engine, [group], clock=clock)
    for t in range(start, end + 1, MIN):
        clock.now = t / 1000
        assert engine.evaluate("g").errors == {}
    stepped = read_transitions(store.engine, start, end + 1)

    got = [(m.rule, m.fingerprint, m.from_state, m.to_state, m.at_ms) for m in ranged.transitions]
    want = list(stepped.select("rule", "fingerprint", "from_state", "to_state", "at_ms").iter_rows())
    assert sorted(got) == sorted(want)
    fired = {r.split("/")[1] for r, _, _, to, _ in got if to == "firing"}
    assert fired >= {"GaugeHigh", "GaugeLow", "GaugeKept", "GaugeP90", "GaugeGone", "GaugeFull", "ErrorRatio",
                     "TeamAvg", "GaugeJump"}  # fmt: skip
    values = {(m.rule, m.fingerprint, m.to_state, m.at_ms): m.value for m in ranged.transitions}
    for rule, fp, _, to, at, value in stepped.select(
        "rule", "fingerprint", "from_state", "to_state", "at_ms", "value"
    ).iter_rows():
        assert values[(rule, fp, to, at)] == pytest.approx(value, rel=1e-6, abs=1e-9)
