"""The form of the Alert rules view: fields that write a rule's YAML into the editor.

The YAML editor holds the rule that is previewed and saved; the form is a quicker way to write
it (metric selector or PromQL, condition, threshold, for, the group's interval, severity, team,
labels, annotations with the runbook). Opening a rule fills the fields from its YAML
(:func:`fill`); filling the form and pressing "Write YAML" replaces the editor's text. The
mapping both ways is ``core.alerts.rule_form``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.alerts.rule_form import CONDITIONS, DEFAULTS, OPS, SEVERITIES, fields_of, text_of
from core.kernel.text import md_text
from pages import _keys as K


def fill(text: str) -> None:
    """The fields from the rule ``text`` (before the widgets are drawn); the defaults when it is
    empty or not a rule."""
    opened = fields_of(text) if text.strip() else None
    for name, value in (DEFAULTS if opened is None else opened.fields).items():
        st.session_state[K.W_RULE_PREFIX + name] = value


def _left_out(text: str) -> None:
    """Name what the editor's rule holds that the form has no field for."""
    opened = fields_of(text) if text.strip() else None
    if opened is not None and opened.left_out:
        st.caption(md_text(f"The form has no field for {', '.join(opened.left_out)} of the rule in the "
                           "editor: Write YAML would leave them out (edit the YAML to keep them)."))  # fmt: skip


def form(metrics: list[str]) -> None:
    """The fields; "Write YAML" puts the rule into the editor (``K.W_RULE_YAML``)."""
    k = K.W_RULE_PREFIX
    for name, value in DEFAULTS.items():
        st.session_state.setdefault(k + name, value)
    _left_out(st.session_state.get(K.W_RULE_YAML, ""))
    with st.form("rules.form", border=True):
        left, mid, right = st.columns(3)
        f: dict[str, Any] = {
            "alert": left.text_input("Name (alertname)", key=k + "alert", placeholder="QueueDeep")
        }
        f["kind"] = mid.radio("Query", ["Metric", "PromQL"], horizontal=True, key=k + "kind")
        opened = st.session_state[k + "metric"]  # an opened rule's selector is an option too
        options = metrics if opened is None or opened in metrics else [*metrics, opened]
        f["metric"] = right.selectbox(
            "Metric", options, index=None, key=k + "metric", accept_new_options=True
        )
        f["expr"] = st.text_input("PromQL expression (when Query is PromQL)", key=k + "expr")
        a, b, c, d = st.columns(4)
        f["condition"] = a.selectbox("Condition", CONDITIONS, key=k + "condition")
        f["op"] = b.selectbox("Operator", OPS, key=k + "op")
        f["threshold"] = c.number_input("Threshold", format="%g", key=k + "threshold")
        f["window"] = d.text_input("Window", key=k + "window")
        a, b, c, d = st.columns(4)
        f["for"] = a.text_input("For", key=k + "for", help="How long it must hold before it fires")
        f["group_interval"] = b.text_input(
            "Group interval",
            key=k + "group_interval",
            placeholder="global",
            help="How often the rule's group is evaluated (e.g. 30s, 2m; at least 1s); empty: the global"
            " evaluation interval. One interval per group: give its rules the same one.",
        )
        f["severity"] = c.selectbox("Severity", SEVERITIES, key=k + "severity")
        f["team"] = d.text_input("Team", key=k + "team")
        f["runbook"] = st.text_input("Runbook URL", key=k + "runbook")
        left, right = st.columns(2)
        f["labels"] = left.text_area("Labels (key=value per line)", key=k + "labels", height=80)
        f["annotations"] = right.text_area(
            "Annotations (key=value per line)", key=k + "annotations", height=80
        )
        if st.form_submit_button("Write YAML", icon=":material/edit_note:"):
            st.session_state[K.W_RULE_YAML] = text_of(f)
            st.rerun()
