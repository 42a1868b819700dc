"""Admin > Settings: a section's generated form, a TOML editor of one setting, the read-only
sections, and saving with the problems shown by setting name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st
import tomli_w

from core.kernel.errors import FieldErrors
from core.kernel.text import md_text
from core.seam.settings import SettingsAdmin
from pages import _keys as K
from pages._settings_form import attempt, model_fields, show_errors
from pages._settings_toml import no_none, parse_field

RESET_HELP = "Forget what was saved here for this section: pulse.toml, PULSE_* variables and defaults apply"


def changed(entered: dict[str, Any], shown: dict[str, Any]) -> dict[str, Any]:
    """The entered values that differ from those shown (a secret left empty is not a change)."""
    return {k: v for k, v in entered.items() if v != shown.get(k) and not (v == "" and shown.get(k))}


def save(action: Callable[[], Any], done: str) -> None:
    """Run a change; its problems by setting name on top, else a message kept for the next run."""
    saved = attempt(action)
    if saved is None:
        return
    sections = getattr(saved, "sections", ())
    st.session_state[K.ADMIN_FLASH] = (
        f"{done} (revision {saved.revision}); running daemons apply it within seconds."
        if sections
        else "Nothing changed: every value is already in effect."
    )
    st.rerun()


def section_form(sa: SettingsAdmin, section: str, skip: frozenset[str] = frozenset()) -> None:
    """The form of a table section; only the values changed are saved."""
    model = sa.model(section)
    if model is None:
        return
    values = sa.section(section)
    with st.form(f"settings.{section}", border=True):
        try:
            entered = model_fields(model, values, f"{K.W_SETTINGS}.{section}", skip)
        except FieldErrors as exc:
            show_errors(exc)
            entered = None
        left, right = st.columns(2)
        if left.form_submit_button(f"Save {section}", icon=":material/save:") and entered is not None:
            save(lambda: sa.update(section, changed(entered, values)), f"Saved {section}")
        if right.form_submit_button("Use the file's values", icon=":material/undo:", help=RESET_HELP):
            save(lambda: sa.reset(section), f"{section}: the file's values apply again")


def toml_editor(sa: SettingsAdmin, section: str, key: str, caption: str) -> None:
    """One setting (``alerting.route``) as a validated TOML text."""
    value = sa.section(section).get(key)
    with st.form(f"settings.{section}.{key}", border=True):
        st.caption(caption)
        text = st.text_area(
            f"{section}.{key}",
            tomli_w.dumps(no_none({key: value})),
            height=260,
            key=f"{K.W_SETTINGS}.toml.{key}",
        )
        if st.form_submit_button(f"Save {key}", icon=":material/save:"):

            def update() -> Any:
                parsed = parse_field(key, text)
                return sa.update(section, {key: [] if parsed is None and isinstance(value, list) else parsed})

            save(update, f"Saved {section}.{key}")


def read_only(sa: SettingsAdmin, sections: list[str]) -> None:
    """The sections read at start, shown (secrets masked) but not editable here."""
    st.info("These are read when a process starts: change them in pulse.toml or PULSE_* variables; "
            "they take effect at the next start.", icon=":material/restart_alt:")  # fmt: skip
    for section in sections:
        value = sa.section(section)
        st.caption(md_text(f"{section}: {sa.restart_reason(section)}"))
        st.code(tomli_w.dumps({section: no_none(value)}), language="toml")
