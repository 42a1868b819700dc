"""The Alert rules form's view of a rule, both ways: the form's fields written as the rule's YAML
(:func:`text_of`), and a rule's YAML read back into the fields (:func:`fields_of`) when a rule is
opened, so that editing it with the form keeps every value it had, ``group_interval`` included.

The form has a field for the common parts of a rule (metric selector or PromQL, condition,
operator, threshold, window, for, the group's interval, severity, team, runbook, labels and
annotations as ``key=value`` lines). What else a rule holds (``over``, ``by``, ``keep_firing_for``,
a forecast condition, a multi-line annotation, ...) is named in :attr:`Opened.left_out`: writing
the YAML from the form would drop it, and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from core.alerts.promexport import duration
from core.alerts.rule_yaml import pulse_rule, read_rule

CONDITIONS = ["threshold", "absent", "change", "predict", "anomaly"]
OPS = [">", ">=", "<", "<=", "==", "!="]
SEVERITIES = ["warning", "critical", "info"]
# each field's value on a new rule
DEFAULTS: dict[str, Any] = {
    "alert": "", "kind": "Metric", "metric": None, "expr": "", "condition": "threshold", "op": ">",
    "threshold": 0.0, "window": "5m", "for": "5m", "group_interval": "", "severity": "warning",
    "team": "", "runbook": "", "labels": "", "annotations": "",
}  # fmt: skip
# the keys of a rule's YAML that have a field in the form
SHOWN = frozenset(
    {"alert", "query", "promql", "condition", "op", "threshold", "window", "for", "severity", "labels", "annotations"}
)  # fmt: skip


@dataclass(frozen=True)
class Opened:
    """A rule as the form's fields, and what the rule has that the form has no field for."""

    fields: dict[str, Any]
    left_out: tuple[str, ...]


def _pairs(text: str) -> dict[str, str]:
    """``key=value`` lines (labels, annotations) as a mapping; blank lines ignored."""
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def _lines(pairs: dict[str, str], kind: str, left_out: list[str]) -> str:
    """A mapping as ``key=value`` lines; a pair that would not read back the same is left out."""
    kept = []
    for k, v in pairs.items():
        if "\n" in v or "=" in k or v != v.strip() or k != k.strip():
            left_out.append(f"{kind}.{k}")
        else:
            kept.append(f"{k}={v}")
    return "\n".join(kept)


def text_of(f: dict[str, Any]) -> str:
    """The rule the form's fields describe, as the editor's YAML (defaults left out)."""
    rule: dict[str, Any] = {"alert": f["alert"].strip()}
    if f["kind"] == "PromQL":
        rule["promql"] = f["expr"].strip()
    else:
        rule["query"] = f["metric"] or ""
        rule["window"] = f["window"]
        if f["condition"] != "threshold":
            rule["condition"] = f["condition"]
        if f["condition"] != "absent":
            rule.update(op=f["op"], threshold=f["threshold"])
    if f["for"].strip():
        rule["for"] = f["for"].strip()
    rule["severity"] = f["severity"]
    labels = _pairs(f["labels"]) | ({"team": f["team"].strip()} if f["team"].strip() else {})
    annotations = _pairs(f["annotations"])
    if f["runbook"].strip():
        annotations["runbook_url"] = f["runbook"].strip()
    if labels:
        rule["labels"] = labels
    if annotations:
        rule["annotations"] = annotations
    if f["group_interval"].strip():
        rule["group_interval"] = f["group_interval"].strip()
    return yaml.safe_dump(rule, sort_keys=False, allow_unicode=True, width=10_000)


def fields_of(text: str) -> Opened | None:
    """The form's fields of the rule ``text``; None when it is not a valid rule."""
    parsed = read_rule(text)
    rule = parsed.rule
    if rule is None:
        return None
    left_out = [k for k in pulse_rule(rule) if k not in SHOWN]
    f = dict(DEFAULTS, alert=rule.alert, severity=rule.severity)
    if rule.promql is not None:
        f.update(kind="PromQL", expr=rule.promql)
    else:
        f.update(metric=rule.query, window=duration(rule.window_s))
        if rule.condition in CONDITIONS:
            f["condition"] = rule.condition
        else:
            left_out.append("condition")
        if rule.condition != "absent":
            f.update(op=rule.op, threshold=float(rule.threshold))
    f["for"] = duration(rule.for_s) if rule.for_s else ""
    f["group_interval"] = duration(parsed.interval_s) if parsed.interval_s is not None else ""
    labels, annotations = dict(rule.labels), dict(rule.annotations)
    f["team"], f["runbook"] = labels.pop("team", ""), annotations.pop("runbook_url", "")
    f["labels"] = _lines(labels, "labels", left_out)
    f["annotations"] = _lines(annotations, "annotations", left_out)
    return Opened(f, tuple(left_out))
