"""The form of the Alert rules view: fields that write a rule's YAML into the editor.

The YAML editor holds the rule that is previewed and saved; the form is a quicker way to write
it (metric selector or PromQL, condition, threshold, for, the group's interval, severity, team,
labels, annotations with the runbook). Filling the form and pressing "Write YAML" replaces the editor's text.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
import yaml

from pages import _keys as K

CONDITIONS = ["threshold", "absent", "change", "predict", "anomaly"]
OPS = [">", ">=", "<", "<=", "==", "!="]
SEVERITIES = ["warning", "critical", "info"]


def _pairs(text: str) -> dict[str, str]:
    """``key=value`` lines (labels, annotations) as a mapping; blank lines ignored."""
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def rule_yaml(f: dict[str, Any]) -> str:
    """The rule the form describes, as the editor's YAML (defaults left out)."""
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
    if f["runbook_url"].strip():
        annotations["runbook_url"] = f["runbook_url"].strip()
    if labels:
        rule["labels"] = labels
    if annotations:
        rule["annotations"] = annotations
    if f["group_interval"].strip():
        rule["group_interval"] = f["group_interval"].strip()
    return yaml.safe_dump(rule, sort_keys=False, allow_unicode=True, width=10_000)


def form(metrics: list[str]) -> None:
    """The fields; "Write YAML" puts the rule into the editor (``K.W_RULE_YAML``)."""
    k = K.W_RULE_PREFIX
    with st.form("rules.form", border=True):
        left, mid, right = st.columns(3)
        f: dict[str, Any] = {
            "alert": left.text_input("Name (alertname)", key=k + "alert", placeholder="QueueDeep")
        }
        f["kind"] = mid.radio("Query", ["Metric", "PromQL"], horizontal=True, key=k + "kind")
        f["metric"] = right.selectbox(
            "Metric", metrics, index=None, key=k + "metric", accept_new_options=True
        )
        f["expr"] = st.text_input("PromQL expression (when Query is PromQL)", key=k + "expr")
        a, b, c, d = st.columns(4)
        f["condition"] = a.selectbox("Condition", CONDITIONS, key=k + "condition")
        f["op"] = b.selectbox("Operator", OPS, key=k + "op")
        f["threshold"] = c.number_input("Threshold", value=0.0, format="%g", key=k + "threshold")
        f["window"] = d.text_input("Window", value="5m", key=k + "window")
        a, b, c, d = st.columns(4)
        f["for"] = a.text_input(
            "For", value="5m", key=k + "for", help="How long it must hold before it fires"
        )
        f["group_interval"] = b.text_input(
            "Group interval",
            key=k + "group_interval",
            placeholder="global",
            help="How often the rule's group is evaluated (e.g. 30s, 2m; at least 1s); empty: the global"
            " evaluation interval. One interval per group: give its rules the same one.",
        )
        f["severity"] = c.selectbox("Severity", SEVERITIES, key=k + "severity")
        f["team"] = d.text_input("Team", key=k + "team")
        f["runbook_url"] = st.text_input("Runbook URL", key=k + "runbook")
        left, right = st.columns(2)
        f["labels"] = left.text_area("Labels (key=value per line)", key=k + "labels", height=80)
        f["annotations"] = right.text_area(
            "Annotations (key=value per line)", key=k + "annotations", height=80
        )
        if st.form_submit_button("Write YAML", icon=":material/edit_note:"):
            st.session_state[K.W_RULE_YAML] = rule_yaml(f)
            st.rerun()
