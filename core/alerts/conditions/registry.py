"""The condition kinds, one registration each: a rule's ``condition`` names one of them.

A :class:`Condition` computes the value each label set's condition compares (``values``); the
rule's ``op``/``threshold`` then decide (``Rule.holds``) unless the condition decides itself
(``decides``: absent fires whenever it returns a label set). ``planned`` lists the window queries
it will ask for, so a cycle can run the queries of many rules at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.alerts.conditions.base import Cycle, Element, Query, Reader
from core.alerts.rules import Rule

Values = Callable[[Reader, Rule, Cycle], list[Element]]
Planned = Callable[[Rule, int], list[tuple[tuple[object, ...], Query]]]


def _none(rule: Rule, now_ms: int) -> list[tuple[tuple[object, ...], Query]]:
    return []


@dataclass(frozen=True)
class Condition:
    kind: str
    values: Values
    planned: Planned = _none
    decides: bool = False  # True: every returned label set fires (op and threshold unused)


CONDITIONS: dict[str, Condition] = {}


def register(condition: Condition) -> Condition:
    """Add a condition kind; a second registration of the same kind is a programming error."""
    if condition.kind in CONDITIONS:
        raise ValueError(f"condition {condition.kind!r} is registered twice")
    CONDITIONS[condition.kind] = condition
    return condition
