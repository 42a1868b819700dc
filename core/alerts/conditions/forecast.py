"""condition=forecast: "the forecast crosses X within T". Per label set, the rule's value in
buckets over ``window`` (the history, about 168 buckets) is forecast ``horizon`` ahead by the
capacity domain's model selection (injected as ``Cycle.forecast``); ``$value`` is the point
forecast's extreme over the horizon in the direction of ``op`` (its maximum for > and >=, its
minimum for < and <=), so ``op``/``threshold`` fire when the forecast crosses the threshold
before the horizon ends. Series the forecaster cannot model (too short) give no value."""

from __future__ import annotations

from core.alerts.conditions.base import Cycle, Element, Reader, buckets, series_frames
from core.alerts.conditions.registry import Condition, register
from core.alerts.rules import Rule

HISTORY_POINTS = 168  # a week of hours for a 7-day window
MIN_STEP_MS = 60_000


def step_of(rule: Rule) -> int:
    return max(int(rule.window_s * 1000) // HISTORY_POINTS // MIN_STEP_MS * MIN_STEP_MS, MIN_STEP_MS)


def values(store: Reader, rule: Rule, cycle: Cycle) -> list[Element]:
    if cycle.forecast is None:
        raise ValueError(
            f"rule {rule.alert!r}: condition forecast needs the forecasting models (pulse collect)"
        )
    step, w = step_of(rule), int(rule.window_s * 1000)
    end = cycle.now_ms // step * step  # whole buckets only: the current one is still filling
    df = buckets(store, rule, cycle, end - w, end, step)
    out: list[Element] = []
    for labels, part in series_frames(df):
        key = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        fc = cycle.forecast(f"{rule.alert}|{key}", part, step, int(rule.horizon_s * 1000))
        if fc is None or fc.is_empty():
            continue
        mean = fc["mean"]
        extreme = mean.max() if rule.op in (">", ">=") else mean.min() if rule.op in ("<", "<=") else mean[-1]
        out.append((labels, float(extreme)))  # type: ignore[arg-type]
    return out


FORECAST = register(Condition("forecast", values))
