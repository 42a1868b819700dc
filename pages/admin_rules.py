"""Admin: alert rules. Every rule with its source and state; UI rules written with a form or as
YAML, previewed over the last 7 days, saved, disabled or deleted; Prometheus import and export.

Thin: everything goes through ``console.rules`` (admins only; each change audited). File rules
are read-only here. Rule text comes from people and files: it is shown as text, never Markdown.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from pages import _common as ui
from pages import _keys as K
from pages import _render as render
from pages import _rules_form, _rules_io, _rules_preview
from pages._rules_open import NEW, act, load, reopen

ui.page_header("Alert rules", "admin_rules")
rules = ui.console().rules
COLUMNS: dict[str, Any] = {"source": "Source", "group": "Group", "alert": "Alert", "condition": "Condition"}
COLUMNS |= {"severity": "Severity", "every": "Every", "enabled": "Enabled", "state": "State"}
COLUMNS["author"] = "Author"


def body() -> None:
    if done := st.session_state.pop(K.RULES_FLASH, None):
        st.success(md_text(done), icon=":material/check_circle:")
    df = rules.table()
    picks = {
        f"{s} · {g}/{a}": (s, g, a, r)
        for s, g, a, r in df.select("source", "group", "alert", "revision").iter_rows()
    }
    reopen(rules, picks)
    recording = rules.recording_rules()
    also = f" The rule files also hold {recording} recording rules (not listed here)." if recording else ""
    st.caption(
        f"{df.height} rules: the default pack, the rule files of the settings, and rules made here.{also}"
    )
    render.grid(df.select(*COLUMNS), COLUMNS)
    st.selectbox("Rule to open", [NEW, *picks], key=K.W_RULE_PICK, on_change=load, args=(rules, picks))
    loaded = st.session_state.get(K.RULES_LOADED)
    from_file = loaded is not None and loaded[0] != "UI"
    if from_file:
        st.info(f"From {md_text(loaded[0])}: read-only here; edit the file to change it. You may preview it, or "
                "save it under another name and group as a new UI rule.", icon=":material/lock:")  # fmt: skip
    with st.expander("Write the YAML with a form", expanded=not from_file and loaded is None):
        _rules_form.form(rules.metric_names())
    group = st.text_input("Group", key=K.W_RULE_GROUP, placeholder="my-team")
    text = st.text_area("Rule (Pulse rule YAML)", key=K.W_RULE_YAML, height=260)
    ui_rule = loaded if loaded is not None and loaded[0] == "UI" else None
    cols = st.columns(4)
    if cols[0].button("Preview", icon=":material/query_stats:", type="primary"):
        _rules_preview.show(rules, text, group)
    if cols[1].button("Save as a new rule" if ui_rule is None else "Save", icon=":material/save:"):
        done = _rules_preview.saved(rules, group, text, None if ui_rule is None else ui_rule[1:3])
        if ui_rule is None:
            act(done, lambda: rules.create(group, text))
        else:
            act(done, lambda: rules.update(ui_rule[1], ui_rule[2], ui_rule[3], group, text, True))
    if ui_rule is not None:
        rec = rules.ui_rule(ui_rule[1], ui_rule[2])
        on = rec is not None and rec.enabled
        if cols[2].button("Disable" if on else "Enable", icon=":material/toggle_on:"):
            act("Rule disabled." if on else "Rule enabled.", lambda: rules.set_enabled(*ui_rule[1:], not on))
        if cols[3].button("Delete", icon=":material/delete:"):
            act("Rule deleted.", lambda: rules.delete(*ui_rule[1:]))
    st.divider()
    left, right = st.columns(2)
    with left:
        _rules_io.import_file(rules)
    with right:
        _rules_io.export_file(rules)


try:
    body()
except PulseError as exc:
    st.warning(f"The alert rules could not be read: {md_text(exc)}", icon=":material/sync_problem:")
