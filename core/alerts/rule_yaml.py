"""One rule as Pulse rule YAML: written (defaults left out) and read back with errors that name
the line and the field.

The UI keeps each rule it makes as the text of one mapping, as it would stand in a rule file's
``rules:`` list; ``pulse rules import`` writes the same shape (:func:`pulse_rule`). A UI rule may
also carry its group's evaluation interval as ``group_interval`` (a Prometheus group's
``interval``): kept in the rule's text, since UI rules are stored one per row; the daemon runs a
group at the shortest ``group_interval`` its rules give (none: ``alerting.evaluation_interval_s``).
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from core.alerts.loader import template_warnings
from core.alerts.promexport import duration
from core.alerts.rules import Rule
from core.kernel.settings.durations import Seconds

GROUP_INTERVAL = "group_interval"
MAX_INTERVAL_S = 86_400  # as a rule file group's interval
DURATIONS = ("window", "change_window", "baseline", "horizon", "for", "keep_firing_for")


def pulse_rule(rule: Rule) -> dict[str, Any]:
    """A rule as Pulse's YAML mapping: defaults left out, durations as Prometheus durations."""
    raw = rule.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    out: dict[str, Any] = {"alert": raw.pop("alert")}
    for key, v in raw.items():
        out[key] = duration(v) if key in DURATIONS and isinstance(v, int | float) else v
    return out


def rule_text(rule: Rule, group_interval_s: float | None = None) -> str:
    """:func:`pulse_rule` as YAML text (what the UI stores and its editor shows), with its group's
    interval when the group has one."""
    doc = pulse_rule(rule)
    if group_interval_s is not None:
        doc[GROUP_INTERVAL] = duration(group_interval_s)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000)


def group_interval(value: Any) -> tuple[float | None, str | None]:
    """A ``group_interval`` value in seconds, or why it is not one (the message names the field)."""
    why = f"group_interval: a duration from 1s to 1d (e.g. 30s, 2m), not {value!r}"
    if isinstance(value, bool) or value is None:
        return None, why
    try:
        seconds = float(TypeAdapter(Seconds).validate_python(value))
    except ValidationError:
        return None, why
    if not 1 <= seconds <= MAX_INTERVAL_S:
        return None, why
    return seconds, None


def _key_lines(text: str) -> dict[str, int]:
    """1-based line of each top-level key of a mapping."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(root, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in root.value}


class RuleText:
    """The outcome of reading one rule's YAML: the rule, or every error (and warnings either way)."""

    def __init__(
        self, rule: Rule | None, errors: list[str], warnings: list[str], interval_s: float | None = None
    ) -> None:
        self.rule, self.errors, self.warnings = rule, errors, warnings
        self.interval_s = interval_s  # the group's interval the text gives (None: the global one)


def read_rule(text: str, origin: str = "rule") -> RuleText:
    """Parse one rule mapping. Each error says where: ``rule:3: threshold: Input should be a
    valid number`` (the line of the field's key; the first line for the rule as a whole)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark is not None else origin
        return RuleText(None, [f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"], [])
    if not isinstance(data, dict):
        return RuleText(None, [f"{origin}:1: a rule is a mapping (alert: ..., query: ..., ...)"], [])
    lines = _key_lines(text)
    errors: list[str] = []
    interval_s, bad_interval = None, []
    if GROUP_INTERVAL in data:
        interval_s, why = group_interval(data.pop(GROUP_INTERVAL))
        bad_interval = [] if why is None else [f"{origin}:{lines.get(GROUP_INTERVAL, 1)}: {why}"]
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            field = str(e["loc"][0]) if e["loc"] else ""
            msg = e["msg"].removeprefix("Value error, ")
            where = f"{origin}:{lines.get(field, 1)}"
            errors.append(f"{where}: {'.'.join(map(str, e['loc']))}: {msg}" if field else f"{where}: {msg}")
        return RuleText(None, errors + bad_interval, [])
    if bad_interval:
        return RuleText(None, bad_interval, [])
    return RuleText(rule, [], [f"{origin}: {w}" for w in template_warnings(rule)], interval_s)
