"""Alert rules as an admin makes and changes them in the UI, each change audited in its transaction.

Used through ``core.seam.rules`` (which checks ``manage_settings`` first). A rule is saved only
when its text parses (every error names the line and the field), its group is not a rule file's
and its alert name is not a file rule's (:func:`core.alerts.ui_rules.clash`). Edits, disabling and
deletes name the revision they started from: a rule saved by someone else meanwhile is refused
with a message, never silently overwritten. The audit entry holds the rule before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from core.admin import audit
from core.admin.audit import Actor
from core.alerts.loader import RuleSet, load_rules
from core.alerts.rule_yaml import RuleText, read_rule
from core.alerts.ui_rules import Imported, clash, group_intervals, import_prometheus
from core.kernel.errors import ConfigError
from core.kernel.records.ui_rules import UiRuleRecord
from core.kernel.settings import Settings
from core.storage.repos.ui_rules import UiRuleRepo

MAX_GROUP = 200
MOVED_ON = "was changed or deleted by someone else since you opened it: reload it and try again"


class RuleRefused(ConfigError):
    """A rule not saved, with every reason (each naming its line or field)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def values(rec: UiRuleRecord | None) -> dict[str, Any] | None:
    """A UI rule as the audit log shows it."""
    if rec is None:
        return None
    return {"group": rec.group, "name": rec.name, "rule_yaml": rec.rule_yaml, "enabled": rec.enabled}


class RuleAdmin:
    def __init__(self, repo: UiRuleRepo, settings: Settings, actor: Actor, now_ms: Callable[[], int]) -> None:
        self.repo, self.settings, self.actor, self.now_ms = repo, settings, actor, now_ms

    @cached_property
    def files(self) -> RuleSet:
        """The rule files' rules (the default pack included), read once per admin action."""
        return load_rules(self.settings)

    def check(self, group: str, text: str, keep: tuple[str, str] | None = None) -> RuleText:
        """The rule ``text`` would be in ``group``: parsed, its group and name checked against the
        file rules and the other UI rules (``keep``: the key of the rule being edited)."""
        parsed = read_rule(text)
        group = group.strip()
        if not group:
            parsed.errors.insert(0, "group: enter the rule group's name")
        elif len(group) > MAX_GROUP:
            parsed.errors.insert(0, f"group: at most {MAX_GROUP} characters")
        if parsed.rule is not None and group:
            why = clash(group, parsed.rule.alert, self.files)
            key = (group, parsed.rule.alert)
            if why is None and key != keep and self.repo.get(*key) is not None:
                why = f"a UI rule {parsed.rule.alert!r} exists already in group {group!r}"
            if why is not None:
                parsed.errors.append(why)
            else:
                parsed.warnings += self._interval_warnings(group, parsed, keep)
        return parsed

    def _interval_warnings(self, group: str, parsed: RuleText, keep: tuple[str, str] | None) -> list[str]:
        """A note when the other UI rules of ``group`` give another ``group_interval``."""
        assert parsed.rule is not None
        others = {
            r.name: read_rule(r.rule_yaml).interval_s
            for r in self.repo.all()
            if r.group == group and r.enabled and (r.group, r.name) != keep and r.name != parsed.rule.alert
        }
        _, warnings = group_intervals({group: {**others, parsed.rule.alert: parsed.interval_s}})
        return [w.replace(f"UI group {group}", f"group_interval: group {group!r}") for w in warnings]

    def _record(self, group: str, text: str, enabled: bool, keep: tuple[str, str] | None) -> UiRuleRecord:
        parsed = self.check(group, text, keep)
        if parsed.errors or parsed.rule is None:
            raise RuleRefused(parsed.errors)
        return UiRuleRecord(group.strip(), parsed.rule.alert, text, enabled, self.actor.name, self.now_ms())

    def _entry(self, action: str, before: UiRuleRecord | None, after: UiRuleRecord | None) -> Any:
        rec = after or before
        assert rec is not None
        return audit.entry(
            self.actor, action, f"{rec.group}/{rec.name}", self.now_ms(), values(before), values(after)
        )

    def create(self, group: str, text: str, enabled: bool = True) -> UiRuleRecord:
        rec = self._record(group, text, enabled, None)
        if self.repo.add([rec], [self._entry("rule.create", None, rec)]):
            raise RuleRefused([f"a UI rule {rec.name!r} exists already in group {rec.group!r}"])
        return rec

    def _current(self, group: str, name: str, revision: int) -> UiRuleRecord:
        old = self.repo.get(group, name)
        if old is None or old.revision != revision:
            raise RuleRefused([f"rule {group}/{name} {MOVED_ON}"])
        return old

    def update(
        self, group: str, name: str, revision: int, new_group: str, text: str, enabled: bool
    ) -> UiRuleRecord:
        old = self._current(group, name, revision)
        rec = self._record(new_group, text, enabled, (group, name))
        saved = self.repo.replace(group, name, revision, rec, self._entry("rule.update", old, rec))
        if saved is None:
            raise RuleRefused([f"rule {group}/{name} {MOVED_ON}"])
        return saved

    def set_enabled(self, group: str, name: str, revision: int, enabled: bool) -> UiRuleRecord:
        old = self._current(group, name, revision)
        rec = UiRuleRecord(old.group, old.name, old.rule_yaml, enabled, self.actor.name, self.now_ms())
        action = "rule.enable" if enabled else "rule.disable"
        saved = self.repo.replace(group, name, revision, rec, self._entry(action, old, rec))
        if saved is None:
            raise RuleRefused([f"rule {group}/{name} {MOVED_ON}"])
        return saved

    def delete(self, group: str, name: str, revision: int) -> None:
        old = self._current(group, name, revision)
        if not self.repo.delete(group, name, revision, self._entry("rule.delete", old, None)):
            raise RuleRefused([f"rule {group}/{name} {MOVED_ON}"])

    def import_prometheus(self, filename: str, text: str, source: str | None = None) -> Imported:
        """A Prometheus rule file's alerting rules added as UI rules, all or none (``errors``)."""
        taken = {(r.group, r.name) for r in self.repo.all()}
        out = import_prometheus(text, filename, self.files, taken, self.actor.name, self.now_ms(), source)
        if out.errors:
            return out
        entries = [self._entry("rule.import", None, r) for r in out.records]
        clashed = self.repo.add(out.records, entries)
        if clashed:  # made by someone else between the read and the write
            out.errors = [f"{filename}: UI rules {', '.join(clashed)} exist already"]
            out.records = []
        return out
