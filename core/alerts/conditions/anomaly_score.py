"""condition=anomaly_score: the robust seasonal anomaly score of the rule's latest bucket per
label set (the capacity domain's detector, injected as ``Cycle.score``: residual from a trend plus
daily profile over the scaled MAD), over ``baseline`` of history in 15-minute buckets. ``$value``
is the absolute score; ``op``/``threshold`` decide (e.g. ``> 6``)."""

from __future__ import annotations

from core.alerts.conditions.base import Cycle, Element, Reader, buckets, series_frames
from core.alerts.conditions.registry import Condition, register
from core.alerts.rules import Rule

STEP_MS = 900_000  # the detector's default step


def values(store: Reader, rule: Rule, cycle: Cycle) -> list[Element]:
    if cycle.score is None:
        raise ValueError(
            f"rule {rule.alert!r}: condition anomaly_score needs the anomaly models (pulse collect)"
        )
    end = cycle.now_ms // STEP_MS * STEP_MS
    df = buckets(store, rule, cycle, end - int(rule.baseline_s * 1000), end, STEP_MS)
    out: list[Element] = []
    for labels, part in series_frames(df):
        key = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        score = cycle.score(f"{rule.alert}|{key}", part)
        if score is not None:
            out.append((labels, float(score)))
    return out


ANOMALY_SCORE = register(Condition("anomaly_score", values))
