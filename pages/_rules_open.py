"""Admin > Alert rules: which rule is open. Picking one puts its text in the editor and its values
in the form; after a change the saved rule is opened again (nothing after a delete)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.admin.rules import RuleRefused
from core.kernel.errors import PulseError
from core.kernel.records.ui_rules import UiRuleRecord
from core.kernel.text import md_text
from core.seam.rules import AlertRules
from pages import _keys as K
from pages import _rules_form, _rules_preview

NEW = "(a new rule)"
Picks = dict[str, tuple[str, str, str, int | None]]  # "UI · group/alert" -> source, group, alert, revision


def act(done: str, fn: Callable[[], UiRuleRecord | None]) -> None:
    """One change; its refusal (every reason) shown, else a message and, on the next run, the
    saved rule open in the editor (nothing open after a delete)."""
    try:
        saved = fn()
    except RuleRefused as exc:
        _rules_preview.problems(exc.problems)
        return
    except PulseError as exc:
        st.error(md_text(exc), icon=":material/error:")
        return
    st.session_state[K.RULES_FLASH] = done
    st.session_state[K.RULES_OPEN] = NEW if saved is None else f"UI · {saved.group}/{saved.name}"
    st.rerun()


def load(rules: AlertRules, table: Picks) -> None:
    """Put the picked rule's text in the editor and its values in the form (on_change: before
    the widgets are drawn)."""
    picked = table.get(st.session_state[K.W_RULE_PICK])
    if picked is None:
        st.session_state.pop(K.RULES_LOADED, None)
        st.session_state[K.W_RULE_YAML], st.session_state[K.W_RULE_GROUP] = "", ""
        _rules_form.fill("")
        return
    source, group, name, _ = picked
    rec = rules.ui_rule(group, name) if source == "UI" else None
    text = rec.rule_yaml if rec else rules.file_rule_text(group, name)
    st.session_state[K.W_RULE_YAML], st.session_state[K.W_RULE_GROUP] = text or "", group
    _rules_form.fill(text or "")
    st.session_state[K.RULES_LOADED] = (source, group, name, rec.revision if rec else None)


def reopen(rules: AlertRules, table: Picks) -> None:
    """After a change, before the widgets: open what it saved (:func:`act` said which)."""
    if (again := st.session_state.pop(K.RULES_OPEN, None)) is not None:
        st.session_state[K.W_RULE_PICK] = again
        load(rules, table)
