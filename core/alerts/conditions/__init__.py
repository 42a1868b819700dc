"""Evaluate a rule's query and condition: which label sets hold now, with which value.

One module per condition kind, each registered once below (the import is the registration):
threshold, absent, change, anomaly, predict, forecast, anomaly_score. Pulse rules query the store
(one query per distinct query shape per cycle: rules that share a query share its result);
``promql`` rules ask a Prometheus source or Pulse's own engine through ``PromQL`` (injected, so
this package never talks HTTP). The result maps alert fingerprints to ``Active``.

To add a condition kind: a module with ``values(store, rule, cycle)`` (and ``planned`` when its
window queries can be shared), ``register(Condition(kind, values, ...))``, its name in
``core.alerts.rules.ConditionKind``, one import line here, one table test.
"""

from core.alerts.conditions import (  # noqa: F401  # each import registers its condition kind
    absent,
    anomaly,
    anomaly_score,
    change,
    forecast,
    predict,
    threshold,
)
from core.alerts.conditions.active import active_set
from core.alerts.conditions.base import (
    MIN_BASELINE_POINTS,
    MIN_TREND_POINTS,
    OWN_STORE,
    RAW_WINDOW_MS,
    TREND_POINTS,
    Cycle,
    Element,
    ForecastFn,
    PromQL,
    Reader,
    ScoreFn,
)
from core.alerts.conditions.evaluate import prefetch, rule_values
from core.alerts.conditions.registry import CONDITIONS, Condition, register

__all__ = [
    "CONDITIONS",
    "MIN_BASELINE_POINTS",
    "MIN_TREND_POINTS",
    "OWN_STORE",
    "RAW_WINDOW_MS",
    "TREND_POINTS",
    "Condition",
    "Cycle",
    "Element",
    "ForecastFn",
    "PromQL",
    "Reader",
    "ScoreFn",
    "active_set",
    "prefetch",
    "register",
    "rule_values",
]
