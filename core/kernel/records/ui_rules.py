"""Plain records of alert rules made in the UI (kept by ``core.storage.repos.ui_rules``).

One record is one rule: its group, its alert name and the rule itself as Pulse rule YAML (one
mapping, as in a rule file's ``rules:`` list). ``revision`` counts the row's writes: an edit
names the revision it started from, so two admins editing at once cannot overwrite each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UiRuleRecord:
    group: str
    name: str  # the rule's alert name
    rule_yaml: str
    enabled: bool
    author: str  # who wrote it last
    updated_ms: int
    revision: int = 1
