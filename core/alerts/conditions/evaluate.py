"""A rule's values in one cycle: PromQL rules ask their source, the others their condition."""

from __future__ import annotations

from collections.abc import Sequence

from core.alerts.conditions.base import OWN_STORE, Cycle, Element, PromQL, Query, Reader
from core.alerts.conditions.registry import CONDITIONS
from core.alerts.rules import Rule


def planned(rule: Rule, now_ms: int) -> list[tuple[tuple[object, ...], Query]]:
    if rule.query is None:
        return []
    return CONDITIONS[rule.condition].planned(rule, now_ms)


def prefetch(store: Reader, rules: Sequence[Rule], cycle: Cycle) -> None:
    """Run the window queries of many rules at once (the store shares reads between them)."""
    todo: dict[tuple[object, ...], Query] = {}
    for rule in rules:
        try:
            todo.update((k, q) for k, q in planned(rule, cycle.now_ms) if k not in cycle.cache)
        except Exception:  # a rule with a bad query fails on its own, when it is evaluated
            continue
    if not todo:
        return
    vectors = store.instant_many(list(todo.values()))
    cycle.queries += len(todo)
    for key, vector in zip(todo, vectors, strict=True):
        cycle.cache[key] = vector


def rule_values(store: Reader, rule: Rule, cycle: Cycle, promql: PromQL | None) -> list[Element]:
    """The label sets the rule looks at now, each with the value its condition compares."""
    if rule.promql is not None:
        if promql is None:
            raise ValueError(f"rule {rule.alert!r} uses promql but no Prometheus source is configured")
        return promql(rule.source or OWN_STORE, rule.promql, cycle.now_ms)
    return CONDITIONS[rule.condition].values(store, rule, cycle)
