"""The rule engine against a real store (SQLite and PostgreSQL), with a fake clock."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from core.alerts.humanize import humanize_timestamp
from core.alerts.rule_engine import AlertEngine, rule_key
from core.alerts.rules import Rule, RuleGroup
from core.kernel.samples import Sample, labels_of
from core.storage.repos.alert_states import read_transitions
from core.storage.tsdb import Store
from tests.conftest import FakeClock

MIN = 60.0


def put(
    store: Store,
    metric: str,
    values: Callable[[float], float | None],
    minutes: int,
    step_s: int = 15,
    **labels: str,
) -> None:
    """Write ``values(t)`` every ``step_s`` for the ``minutes`` before the store's now."""
    now = store.now_ms()
    out = []
    for i in range(minutes * 60 // step_s, -1, -1):
        t = now - i * step_s * 1000
        v = values(t / 1000)
        if v is not None:
            out.append(Sample(metric, labels_of(**labels), t, v))
    store.write(out)


def group(*rules: Rule, name: str = "g") -> RuleGroup:
    return RuleGroup(name=name, interval_s=30, rules=rules)


def cpu_rule(**kw: object) -> Rule:
    base: dict[str, object] = {"alert": "CpuHigh", "query": "cpu", "window": "1m", "threshold": 0.9}
    return Rule.model_validate({**base, **kw})


def states(engine: AlertEngine, rule: Rule, g: str = "g") -> dict[str, str]:
    return {s.labels["host"]: s.state for s in engine.states.get(rule_key(g, rule), {}).values()}


def test_threshold_with_for_then_resolve_and_restart_keeps_state(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    rule = cpu_rule(**{"for": "2m"}, annotations={"summary": "{{ $labels.host }} at {{ $value }}"})
    engine = AlertEngine(store, store.engine, [group(rule)], clock=clock)
    put(store, "cpu", lambda t: 0.95, 5, host="a")
    put(store, "cpu", lambda t: 0.50, 5, host="b")
    engine.evaluate("g")
    assert states(engine, rule) == {"a": "pending"}
    for _ in range(4):
        clock.advance(30)
        put(store, "cpu", lambda t: 0.95, 1, host="a")
        engine.evaluate("g")
    assert states(engine, rule) == {"a": "firing"}
    (firing,) = engine.alerts(["firing"])
    assert firing.annotations == {"summary": "a at 0.95"} and firing.labels["alertname"] == "CpuHigh"
    assert firing.labels["severity"] == "warning"

    reopened = AlertEngine(store, store.engine, [group(rule)], clock=clock)  # a restart
    assert states(reopened, rule) == {"a": "firing"}
    clock.advance(30)
    put(store, "cpu", lambda t: 0.95, 1, host="a")
    assert reopened.evaluate("g").transitions == []  # no duplicate firing after the restart

    clock.advance(120)
    put(store, "cpu", lambda t: 0.2, 2, host="a")
    result = reopened.evaluate("g")
    assert [(t.from_state, t.to_state) for t in result.transitions] == [("firing", "resolved")]
    history = read_transitions(store.engine, 0, clock.ms + 1)
    assert history["to_state"].to_list() == ["pending", "firing", "resolved"]


def test_hysteresis_keeps_a_firing_alert_until_the_resolve_threshold(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    rule = cpu_rule(resolve_threshold=0.8)
    engine = AlertEngine(store, store.engine, [group(rule)], clock=clock)
    for value, expected in [(0.95, "firing"), (0.85, "firing"), (0.88, "firing"), (0.79, "resolved")]:
        clock.advance(90)
        put(store, "cpu", lambda t, v=value: v, 1, host="a")
        engine.evaluate("g")
        assert states(engine, rule) == {"a": expected}, value
    clock.advance(90)
    put(store, "cpu", lambda t: 0.85, 1, host="a")  # below the firing threshold: no new alert
    engine.evaluate("g")
    assert states(engine, rule) == {"a": "resolved"}


def test_a_broken_rule_keeps_its_state_and_does_not_stop_the_others(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    good, broken = cpu_rule(), cpu_rule(alert="Broken", promql="up == 0", source="prom", query=None)
    engine = AlertEngine(store, store.engine, [group(good, broken)], clock=clock)
    put(store, "cpu", lambda t: 0.95, 2, host="a")
    result = engine.evaluate("g")
    assert states(engine, good) == {"a": "firing"}
    assert "no Prometheus source is configured" in result.errors[rule_key("g", broken)]
    assert engine.health[rule_key("g", broken)].last_error is not None


def test_absent_change_anomaly_predict_and_divide_by(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    clock.advance(8 * 86_400)
    # latency: 0.1 s a week ago, 0.3 s now on host a; flat on host b
    put(store, "lat", lambda t: 0.1, 40, host="a")
    put(store, "lat", lambda t: 0.1, 40, host="b")
    week = clock.now
    clock.advance(7 * 86_400)
    put(store, "lat", lambda t: 0.3, 40, host="a")
    put(store, "lat", lambda t: 0.1, 40, host="b")
    # disk: 1% per hour on a (full in < 24 h from 90%), flat on b
    put(store, "disk", lambda t: 0.90 - (clock.now - t) / 3600 * 0.01, 360, step_s=300, host="a")
    put(store, "disk", lambda t: 0.50, 360, step_s=300, host="b")
    # errors / calls
    put(store, "errors", lambda t: (t - week) * 0.5, 10, host="a")
    put(store, "calls", lambda t: (t - week) * 2.0, 10, host="a")
    put(store, "errors", lambda t: (t - week) * 0.01, 10, host="b")
    put(store, "calls", lambda t: (t - week) * 2.0, 10, host="b")
    # a noisy series with a spike at the end, for the anomaly score
    put(
        store,
        "req",
        lambda t: None if t > clock.now - 300 else 100 + 5 * math.sin(t / 600),
        24 * 60,
        step_s=60,
        host="a",
    )
    put(store, "req", lambda t: 400.0, 4, host="a")
    rules = [
        Rule.model_validate(
            {
                "alert": "Regression",
                "query": "lat",
                "condition": "change",
                "window": "30m",
                "change_window": "7d",
                "threshold": 0.5,
            }
        ),
        Rule.model_validate(
            {
                "alert": "DiskFull",
                "query": "disk",
                "condition": "predict",
                "window": "6h",
                "horizon": "24h",
                "op": ">=",
                "threshold": 1,
            }
        ),
        Rule.model_validate(
            {
                "alert": "Errors",
                "query": "errors",
                "divide_by": "calls",
                "over": "rate",
                "window": "5m",
                "threshold": 0.1,
            }
        ),
        Rule.model_validate(
            {
                "alert": "Spike",
                "query": "req",
                "condition": "anomaly",
                "window": "5m",
                "baseline": "1d",
                "threshold": 4,
            }
        ),
        Rule.model_validate(
            {"alert": "Gone", "query": 'cpu{host="zz"}', "condition": "absent", "window": "5m"}
        ),
    ]
    engine = AlertEngine(store, store.engine, [group(*rules)], clock=clock)
    assert engine.evaluate("g").errors == {}
    got = {(s.labels["alertname"], s.labels.get("host")) for s in engine.alerts(["firing"])}
    assert got == {("Regression", "a"), ("DiskFull", "a"), ("Errors", "a"), ("Spike", "a"), ("Gone", "zz")}
    values = {s.labels["alertname"]: s.value for s in engine.alerts(["firing"])}
    assert values["Regression"] == pytest.approx(2.0)  # +200%
    assert values["Errors"] == pytest.approx(0.25)
    assert values["DiskFull"] == pytest.approx(0.90 + 0.24, abs=0.01)


def test_min_divisor_skips_label_sets_with_too_little_traffic(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    put(store, "errs", lambda t: t * 0.05, 10, host="busy")  # 0.05 errors/s of 1 call/s: 5%
    put(store, "calls", lambda t: t * 1.0, 10, host="busy")
    put(store, "errs", lambda t: t * 0.02, 10, host="quiet")  # 0.02 of 0.04 calls/s: 50%, but rare
    put(store, "calls", lambda t: t * 0.04, 10, host="quiet")
    spec = {
        "alert": "E",
        "query": "errs",
        "divide_by": "calls",
        "over": "rate",
        "window": "5m",
        "threshold": 0.01,
    }
    plain = Rule.model_validate(spec)
    guarded = Rule.model_validate({**spec, "alert": "G", "min_divisor": 0.1})
    engine = AlertEngine(store, store.engine, [group(plain, guarded)], clock=clock)
    engine.evaluate("g")
    fired = sorted((s.labels["alertname"], s.labels["host"]) for s in engine.alerts(["firing"]))
    assert fired == [("E", "busy"), ("E", "quiet"), ("G", "busy")]


def test_templates_see_the_series_labels_and_query_runs_through_the_rule_source(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    asked: list[tuple[str, str, int]] = []

    def promql(source: str, expr: str, at_ms: int) -> list[tuple[dict[str, str], float]]:
        asked.append((source, expr, at_ms))
        if expr == "up == 0":
            return [({"__name__": "up", "instance": "db-1:9100", "job": "node"}, 0.0)]
        return [({"__name__": "up", "job": "node"}, 3.0)] if expr == 'count(up{job="node"})' else []

    down = Rule.model_validate(
        {
            "alert": "Down",
            "promql": "up == 0",
            "source": "prom-eu",
            "labels": {"host": "{{ $labels.instance | stripPort }}"},
            "annotations": {
                "summary": "{{ $labels.__name__ }} of {{ $labels.instance }} is {{ $value }};"
                ' {{ query "count(up{job=\\"node\\"})" | first | value }} targets'
                " at {{ now | humanizeTimestamp }} in {{ $externalLabels.region }}",
            },
        }
    )
    local = cpu_rule(annotations={"top": '{{ query "up" | first | value }}'}, threshold=0.5)
    put(store, "cpu", lambda t: 0.95, 5, host="a")
    engine = AlertEngine(
        store,
        store.engine,
        [group(down, local)],
        promql=promql,
        clock=clock,
        external_labels={"region": "eu"},
    )
    engine.evaluate("g")
    (alert,) = engine.states[rule_key("g", down)].values()
    assert alert.labels == {
        "alertname": "Down",
        "severity": "warning",
        "instance": "db-1:9100",
        "job": "node",
        "host": "db-1",
    }
    stamp = engine.clock()
    summary = f"up of db-1:9100 is 0; 3 targets at {humanize_timestamp(stamp)} in eu"
    assert alert.annotations["summary"] == summary
    assert ("prom-eu", 'count(up{job="node"})', int(stamp * 1000)) in asked
    (cpu,) = engine.states[rule_key("g", local)].values()
    assert cpu.annotations["top"].startswith("<error expanding template: ")
    assert "query is not available: this rule has no Prometheus source" in cpu.annotations["top"]
