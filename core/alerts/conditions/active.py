"""From the values a condition computed to the alerts that hold now: labels, annotations, value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.alerts.conditions.base import Element
from core.alerts.conditions.registry import CONDITIONS
from core.alerts.promfuncs import QueryFn
from core.alerts.rules import Rule
from core.alerts.state import Active
from core.alerts.templates import render
from core.kernel.records.alerts import fingerprint


def active_set(
    rule: Rule,
    elements: Sequence[Element],
    firing: set[str],
    external_url: str = "",
    *,
    now_ms: int | None = None,
    query: QueryFn | None = None,
    external_labels: Mapping[str, str] | None = None,
) -> dict[str, Active]:
    """The label sets whose condition holds, as alerts: labels, rendered annotations, value.

    As in Prometheus, label and annotation templates see the element's own labels (with
    ``__name__`` when the query kept it) as ``$labels``, not the rule's; ``__name__`` is then
    dropped from the alert's labels.
    """
    out: dict[str, Active] = {}
    now_s = None if now_ms is None else now_ms / 1000

    def expand(text: str, lb: dict[str, str], value: float) -> str:
        return render(
            text,
            lb,
            value,
            external_url,
            rule=rule.alert,
            now_s=now_s,
            query=query,
            external_labels=external_labels,
        )

    for lb, value in elements:
        own = {k: v for k, v in lb.items() if k != "__name__"}
        base = {**own, "alertname": rule.alert, "severity": rule.severity}
        extra = {k: expand(v, lb, value) for k, v in rule.labels.items()}
        labels = {**base, **extra}
        fp = fingerprint(labels)
        decides = rule.promql is not None or CONDITIONS[rule.condition].decides
        holds = True if decides else rule.holds(value, fp in firing)
        if not holds:
            continue
        notes = {k: expand(v, lb, value) for k, v in rule.annotations.items()}
        out[fp] = Active(labels, notes, value)
    return out
