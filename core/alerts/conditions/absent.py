"""condition=absent: fires when the query has no series in the window, with the selector's
equality matchers as the alert's labels (Prometheus' ``absent()``)."""

from __future__ import annotations

from core.alerts.conditions import threshold
from core.alerts.conditions.base import Cycle, Element, Reader, window
from core.alerts.conditions.registry import Condition, register
from core.alerts.rules import Rule
from core.kernel.selector import parse_selector


def values(store: Reader, rule: Rule, cycle: Cycle) -> list[Element]:
    if window(store, rule, cycle, cycle.now_ms, int(rule.window_s * 1000)):
        return []
    sel = parse_selector(rule.query or "")
    return [({m.label: m.value for m in sel.matchers if m.op == "="}, 1.0)]


ABSENT = register(Condition("absent", values, threshold.planned, decides=True))
