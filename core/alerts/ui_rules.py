"""Rules made in the UI beside the rule files: the clash check, the merge the daemon loads, and
a Prometheus rule file turned into UI rules (each keeping its group's ``interval`` as its
``group_interval``; a group without one runs at the global interval, as in Prometheus).

File rules own their groups and their alert names: a UI rule may not go into a group a file
defines, nor take the alert name of a file rule (routes, inhibitions and silences match on
``alertname``: two rules of one name from two places would be one alert to them). A clash found
at load time (a file gained the name after the UI rule was made) leaves the UI rule out with a
warning, never stops the daemon; the UI refuses it on save.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.alerts.loader import RuleSet, _lines, check_rules, load_rules
from core.alerts.promexport import duration
from core.alerts.rule_yaml import read_rule, rule_text
from core.alerts.rules import Rule, RuleGroup
from core.kernel.records.ui_rules import UiRuleRecord
from core.kernel.settings import Settings
from core.storage.repos.ui_rules import UiRuleRepo

UI_ORIGIN = "UI"  # what RuleSet.files says for the groups of UI rules


def clash(group: str, alert: str, files: RuleSet) -> str | None:
    """Why a UI rule ``group/alert`` may not exist beside the file rules, or None."""
    if group in files.files:
        return (
            f"group {group!r} is defined in {files.files[group]}: rules made in the UI go in"
            " groups of their own (edit the file to change its groups)"
        )
    for g in files.groups:
        if any(r.alert == alert for r in g.rules):
            return (
                f"alert name {alert!r} is already a rule of group {g.name!r} in {files.files.get(g.name)}:"
                " choose another name (file rules are edited in their file)"
            )
    return None


def group_intervals(by_group: dict[str, dict[str, float | None]]) -> tuple[dict[str, float], list[str]]:
    """Each UI group's interval: the shortest ``group_interval`` its rules give (none: the global
    one), and a warning for each group whose rules disagree."""
    out: dict[str, float] = {}
    warnings: list[str] = []
    for group, per_rule in sorted(by_group.items()):
        given = {name: s for name, s in per_rule.items() if s is not None}
        if not given:
            continue
        out[group] = min(given.values())
        if len(set(per_rule.values())) > 1:
            said = ", ".join(
                f"{n}: {duration(s) if s is not None else 'global'}" for n, s in sorted(per_rule.items())
            )
            warnings.append(
                f"UI group {group}: its rules give different group_interval values ({said});"
                f" the group runs every {duration(out[group])}, the shortest: give them all the same one"
            )
    return out, warnings


def ui_groups(records: Iterable[UiRuleRecord], files: RuleSet) -> tuple[list[RuleGroup], list[str]]:
    """The enabled UI rules as groups (each at its ``group_interval``, else the global interval),
    and warnings for those left out."""
    by_group: dict[str, list[Rule]] = {}
    intervals: dict[str, dict[str, float | None]] = {}
    warnings: list[str] = []
    for rec in records:
        if not rec.enabled:
            continue
        where = f"UI rule {rec.group}/{rec.name}"
        parsed = read_rule(rec.rule_yaml, where)
        why = clash(rec.group, rec.name, files)
        if parsed.rule is None or why is not None:
            warnings.append(f"{where} left out: {why or '; '.join(parsed.errors)}")
            continue
        by_group.setdefault(rec.group, []).append(parsed.rule)
        intervals.setdefault(rec.group, {})[rec.name] = parsed.interval_s
    every, disagree = group_intervals(intervals)
    groups = [
        RuleGroup(name=g, interval_s=every.get(g), rules=tuple(rs)) for g, rs in sorted(by_group.items())
    ]
    return groups, warnings + disagree


def load_with_ui_rules(settings: Settings, repo: UiRuleRepo) -> RuleSet:
    """The rule files (:func:`load_rules`) and the enabled UI rules of the database."""
    out = load_rules(settings)
    groups, warnings = ui_groups(repo.all(), out)
    out.groups += groups
    out.warnings += warnings
    out.files.update({g.name: UI_ORIGIN for g in groups})
    return out


@dataclass
class Imported:
    """A Prometheus rule file read for import: its rules as UI records, or every error."""

    records: list[UiRuleRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def import_prometheus(
    text: str, origin: str, files: RuleSet, taken: set[tuple[str, str]], author: str, now_ms: int,
    source: str | None = None,
) -> Imported:  # fmt: skip
    """The alerting rules of a Prometheus rule file as UI rules; ``errors`` (``FILE:LINE: ...``)
    when anything is wrong: a bad rule, a clash with a file rule or an existing UI rule."""
    rs = check_rules(text, origin, source)
    out = Imported(errors=list(rs.errors), warnings=list(rs.warnings))
    if rs.errors:
        return out
    lines = _lines(text)
    for i, g in enumerate(rs.groups):
        if g.recording:
            out.warnings.append(
                f"{origin}: group {g.name!r}: {len(g.recording)} recording rule(s) not imported: UI rules"
                " are alerting rules (list the file in alerting.prometheus_rule_files to run them)"
            )
        for j, r in enumerate(g.rules):
            where = f"{origin}:{lines.get((i, j), '?')}: group {g.name!r}, rule {r.alert!r}"
            why = clash(g.name, r.alert, files)
            if why is None and (g.name, r.alert) in taken:
                why = "a UI rule of this group and name exists already"
            if why is not None:
                out.errors.append(f"{where}: {why}")
                continue
            taken = taken | {(g.name, r.alert)}
            out.records.append(
                UiRuleRecord(g.name, r.alert, rule_text(r, g.interval_s), True, author, now_ms)
            )
    if out.errors:
        out.records = []
    return out
