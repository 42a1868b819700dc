"""Alert rules as an admin sees and changes them: every rule with its source and state, the UI
rules' changes (audited), the preview over stored history, Prometheus import and export.

Every method, reads included, requires ``manage_settings`` (admins only) whatever the page
showed. An admin's scope is every team, so the preview reads the whole store; the text of rules
(names, labels, annotations) comes from people and files: pages show it as text, never Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from core.access.policy import Action
from core.admin.rules import RuleAdmin, RuleRefused
from core.alerts.loader import DEFAULT_RULES
from core.alerts.preview import Preview, preview
from core.alerts.promexport import duration, export_rules
from core.alerts.rule_engine import rule_key
from core.alerts.rule_yaml import RuleText, read_rule, rule_text
from core.alerts.rules import Rule, RuleGroup
from core.alerts.ui_rules import UI_ORIGIN, Imported, clash, load_with_ui_rules, ui_groups
from core.kernel.records.alerts import AlertState
from core.kernel.records.ui_rules import UiRuleRecord
from core.storage.repos.alert_states import load_states
from core.storage.repos.ui_rules import UiRuleRepo
from core.storage.tsdb import Store

if TYPE_CHECKING:
    from core.seam.console import Console

TABLE_SCHEMA: dict[str, type[pl.DataType]] = {
    "source": pl.Utf8,
    "group": pl.Utf8,
    "alert": pl.Utf8,
    "condition": pl.Utf8,
    "severity": pl.Utf8,
    "every": pl.Utf8,
    "enabled": pl.Boolean,
    "state": pl.Utf8,
    "author": pl.Utf8,
    "revision": pl.Int64,
}


def _condition(rule: Rule) -> str:
    if rule.promql is not None:
        return f"promql: {rule.promql}"
    return (
        f"{rule.condition} {rule.query} {rule.op} {rule.threshold:g}"
        if rule.condition != "absent"
        else f"absent {rule.query}"
    )


def _state(per: Mapping[str, AlertState] | None) -> str:
    states = [s.state for s in (per or {}).values()]
    firing, pending = states.count("firing"), states.count("pending")
    if firing or pending:
        return ", ".join(
            p for p in (f"{firing} firing" if firing else "", f"{pending} pending" if pending else "") if p
        )
    return "ok"


def _every(group: RuleGroup, default_s: float) -> str:
    """How often a group runs: its own interval, else the global one (marked so)."""
    return duration(group.every(default_s)) + (" (global)" if group.interval_s is None else "")


class AlertRules:
    def __init__(self, console: Console, store: Store) -> None:
        self._c = console
        self._store = store

    def _admin(self) -> RuleAdmin:
        self._c.require(Action.MANAGE_SETTINGS)
        return RuleAdmin(UiRuleRepo(self._store.engine), self._c.settings, self._c.actor, self._c.now_ms)

    # -- reads ---------------------------------------------------------------------------------------
    def table(self) -> pl.DataFrame:
        """Every rule (file rules, then UI rules, disabled ones too) with where it comes from and
        its current state (from the alert states the daemon stored)."""
        admin = self._admin()
        states = load_states(self._store.engine)
        files = admin.files.files
        every = self._c.settings.alerting.evaluation_interval_s
        rows: list[tuple[Any, ...]] = []
        for g in admin.files.groups:
            source = "default pack" if files.get(g.name) == str(DEFAULT_RULES) else files.get(g.name, "")
            for r in g.rules:
                state = _state(states.get(rule_key(g.name, r)))
                row = (source, g.name, r.alert, _condition(r), r.severity, _every(g, every), True, state, "")
                rows.append((*row, None))
        records = admin.repo.all()
        ui = {g.name: g for g in ui_groups(records, admin.files)[0]}
        for rec in records:
            rule = read_rule(rec.rule_yaml).rule
            if rule is None or clash(rec.group, rec.name, admin.files):
                cond, severity, state = "(left out: see the editor)", "", "left out"
            else:
                cond, severity = _condition(rule), rule.severity
                state = _state(states.get(rule_key(rec.group, rule))) if rec.enabled else "disabled"
            runs = _every(ui[rec.group], every) if rec.group in ui and rec.enabled else ""
            row = (UI_ORIGIN, rec.group, rec.name, cond, severity, runs, rec.enabled, state, rec.author)
            rows.append((*row, rec.revision))
        return pl.DataFrame(rows, schema=TABLE_SCHEMA, orient="row")

    def ui_rule(self, group: str, name: str) -> UiRuleRecord | None:
        return self._admin().repo.get(group, name)

    def file_rule_text(self, group: str, name: str) -> str | None:
        """A file rule as Pulse rule YAML (read-only: to preview it, or to copy it into a new UI rule)."""
        for g in self._admin().files.groups:
            for r in g.rules:
                if g.name == group and r.alert == name:
                    return rule_text(r, g.interval_s)
        return None

    def recording_rules(self) -> int:
        """How many recording rules the rule files hold (they run beside the alerting rules; not
        listed in :meth:`table`, which is the alerting rules an admin may open and edit)."""
        return self._admin().files.recording

    def metric_names(self) -> list[str]:
        self._c.require(Action.MANAGE_SETTINGS)
        return self._store.metrics()

    def check(self, group: str, text: str, keep: tuple[str, str] | None = None) -> RuleText:
        """Errors (line and field) and warnings of a rule being written; nothing is saved."""
        return self._admin().check(group, text, keep)

    def preview(self, text: str, days: int = 7, group: str = "") -> tuple[Rule, Preview]:
        """What the rule ``text`` would have done over the last ``days`` of history, evaluated at
        its group's interval (its ``group_interval``; else a rule file's group's own; else the
        global evaluation interval)."""
        admin = self._admin()
        parsed = read_rule(text)
        if parsed.rule is None:
            raise RuleRefused(parsed.errors)
        every = self._c.settings.alerting.evaluation_interval_s
        every = next((g.every(every) for g in admin.files.groups if g.name == group.strip()), every)
        every = parsed.interval_s if parsed.interval_s is not None else every
        return parsed.rule, preview(self._store, parsed.rule, self._c.now_ms(), every, days)

    def export_prometheus(self) -> str:
        """Every rule that runs (files and enabled UI rules) as one Prometheus rule file."""
        self._c.require(Action.MANAGE_SETTINGS)
        rules = load_with_ui_rules(self._c.settings, UiRuleRepo(self._store.engine))
        return export_rules(
            rules.groups, "Prometheus alerting rules exported from MCP Pulse (Admin > Alert rules)."
        )

    # -- changes -------------------------------------------------------------------------------------
    def create(self, group: str, text: str, enabled: bool = True) -> UiRuleRecord:
        return self._admin().create(group, text, enabled)

    def update(
        self, group: str, name: str, revision: int, new_group: str, text: str, enabled: bool
    ) -> UiRuleRecord:
        return self._admin().update(group, name, revision, new_group, text, enabled)

    def set_enabled(self, group: str, name: str, revision: int, enabled: bool) -> UiRuleRecord:
        return self._admin().set_enabled(group, name, revision, enabled)

    def delete(self, group: str, name: str, revision: int) -> None:
        self._admin().delete(group, name, revision)

    def import_prometheus(self, filename: str, text: str, source: str | None = None) -> Imported:
        return self._admin().import_prometheus(filename, text, source)
