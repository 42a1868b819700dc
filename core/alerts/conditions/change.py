"""condition=change: the relative change of the windowed value against ``change_window`` ago,
(now - before) / |before|, per label set that has both."""

from __future__ import annotations

from core.alerts.conditions.base import Cycle, Element, Query, Reader, label_key, window, window_query
from core.alerts.conditions.registry import Condition, register
from core.alerts.rules import Rule


def planned(rule: Rule, now_ms: int) -> list[tuple[tuple[object, ...], Query]]:
    if rule.query is None:
        return []
    w = int(rule.window_s * 1000)
    sels = [rule.query] + ([rule.divide_by] if rule.divide_by else [])
    ends = (now_ms, now_ms - int(rule.change_window_s * 1000))
    return [window_query(rule, sel, end, w) for end in ends for sel in sels]


def values(store: Reader, rule: Rule, cycle: Cycle) -> list[Element]:
    w = int(rule.window_s * 1000)
    now = window(store, rule, cycle, cycle.now_ms, w)
    back = cycle.now_ms - int(rule.change_window_s * 1000)
    before = {label_key(lb): v for lb, v in window(store, rule, cycle, back, w)}
    out = []
    for lb, v in now:
        old = before.get(label_key(lb))
        if old is not None and old != 0:
            out.append((lb, (v - old) / abs(old)))
    return out


CHANGE = register(Condition("change", values, planned))
