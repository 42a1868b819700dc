"""The condition registry and the two conditions backed by the capacity models, on a real store:
"the forecast crosses X within T" on a filling disk, and the robust seasonal anomaly score on a
daily-seasonal series with and without a spike."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import get_args

import pytest

from core.alerts.conditions import CONDITIONS, Condition, Cycle, register, rule_values
from core.alerts.rule_engine import AlertEngine, rule_key
from core.alerts.rules import ConditionKind, Rule, RuleGroup
from core.capacity.alert_models import AlertModels
from core.kernel.samples import Sample, labels_of
from core.storage.tsdb import Store
from tests.conftest import FakeClock

HOUR_S, DAY_S = 3600, 86_400


def test_every_condition_kind_a_rule_may_name_is_registered_once() -> None:
    assert set(CONDITIONS) == set(get_args(ConditionKind))
    with pytest.raises(ValueError, match="registered twice"):
        register(Condition("threshold", CONDITIONS["threshold"].values))


@pytest.fixture(scope="module")
def models() -> AlertModels:
    return AlertModels()


def write(
    store: Store, metric: str, value: Callable[[float], float], days: float, step_s: int, **lb: str
) -> None:
    now_s = store.now_ms() / 1000
    n = int(days * DAY_S / step_s)
    ts = [now_s - i * step_s for i in range(n, 0, -1)]
    store.write([Sample(metric, labels_of(**lb), int(t * 1000), value(t)) for t in ts])


def daily(t: float) -> float:
    return 0.5 + 0.2 * math.sin(2 * math.pi * (t % DAY_S) / DAY_S)


def values_of(store: Store, models: AlertModels, **rule: object) -> dict[str, float]:
    r = Rule.model_validate({"alert": "A", "query": rule.pop("query"), **rule})
    cycle = Cycle(store.now_ms(), forecast=models.forecast, score=models.score)
    return {lb.get("host", ""): v for lb, v in rule_values(store, r, cycle, None)}


def test_the_forecast_of_a_filling_disk_crosses_its_threshold_within_the_horizon_only_when_it_does(
    make_store: Callable[..., Store], models: AlertModels
) -> None:
    store = make_store()
    now_s = store.now_ms() / 1000
    fill = lambda t: 0.50 + 0.05 * (t - now_s) / DAY_S + 0.01 * math.sin(2 * math.pi * t / DAY_S)  # noqa: E731
    write(store, "disk_used_ratio", fill, 7, 600, host="a")  # +5 % a day: 90 % in 8 days
    write(
        store, "disk_used_ratio", lambda t: 0.4 + 0.01 * math.sin(2 * math.pi * t / DAY_S), 7, 600, host="b"
    )
    common = {
        "query": "disk_used_ratio",
        "condition": "forecast",
        "window": "7d",
        "op": ">",
        "threshold": 0.9,
    }
    within_10d = values_of(store, models, **common, horizon="10d")
    within_3d = values_of(store, models, **common, horizon="3d")
    assert within_10d["a"] > 0.9 > within_3d["a"] > 0.6  # the extreme over each horizon
    assert within_10d["b"] < 0.5  # flat: never near the threshold

    rule = Rule.model_validate({"alert": "DiskFillsSoon", **common, "horizon": "10d"})
    engine = AlertEngine(
        store,
        store.engine,
        [RuleGroup(name="g", rules=(rule,))],
        clock=FakeClock(store.now_ms() / 1000),
        forecast=models.forecast,
        score=models.score,
    )
    engine.evaluate("g")
    fired = {s.labels["host"]: s.state for s in engine.states[rule_key("g", rule)].values()}
    assert fired == {"a": "firing"}


def test_the_anomaly_score_flags_a_spike_against_the_daily_profile_and_not_the_profile_itself(
    make_store: Callable[..., Store], models: AlertModels
) -> None:
    store = make_store()
    now_s = store.now_ms() / 1000
    write(store, "load", daily, 6, 300, host="calm")
    write(store, "load", lambda t: daily(t) + (2.0 if now_s - t < 1800 else 0.0), 6, 300, host="spiky")
    scores = values_of(
        store, models, query="load", condition="anomaly_score", baseline="6d", op=">", threshold=6
    )
    assert scores["spiky"] > 6 > scores["calm"]


def test_without_the_models_the_rule_says_what_is_missing(make_store: Callable[..., Store]) -> None:
    store = make_store()
    r = Rule.model_validate({"alert": "A", "query": "load", "condition": "forecast", "threshold": 1})
    with pytest.raises(ValueError, match="forecasting models"):
        rule_values(store, r, Cycle(store.now_ms()), None)
