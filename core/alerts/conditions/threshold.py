"""condition=threshold (the default): the rule's windowed value (or query / divide_by) per label
set, compared with ``op`` and ``threshold``."""

from __future__ import annotations

from core.alerts.conditions.base import Cycle, Element, Query, Reader, window, window_query
from core.alerts.conditions.registry import Condition, register
from core.alerts.rules import Rule


def planned(rule: Rule, now_ms: int) -> list[tuple[tuple[object, ...], Query]]:
    """The window queries of the rule's value now: the query, and divide_by when given."""
    if rule.query is None:
        return []
    sels = [rule.query] + ([rule.divide_by] if rule.divide_by else [])
    return [window_query(rule, sel, now_ms, int(rule.window_s * 1000)) for sel in sels]


def values(store: Reader, rule: Rule, cycle: Cycle) -> list[Element]:
    return window(store, rule, cycle, cycle.now_ms, int(rule.window_s * 1000))


THRESHOLD = register(Condition("threshold", values, planned))
