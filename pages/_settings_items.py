"""Admin > Settings: lists of named items (data sources, notification channels): pick, add,
edit, remove, and try one ("test now" runs a source's collector once; "send test" sends a
synthetic alert through the channel as entered, without saving it: ``_settings_trials``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import streamlit as st

from core.kernel.errors import FieldErrors
from core.seam.settings import SettingsAdmin
from pages import _keys as K
from pages import _render as render
from pages._settings_form import model_fields, show_errors
from pages._settings_sections import save

NEW = "(add a new one)"


def items_editor(
    sa: SettingsAdmin,
    items: list[dict[str, Any]],
    tag: str,
    store: Callable[[list[dict[str, Any]]], Any],
    what: str,
    variants: dict[str, Any],
) -> tuple[dict[str, Any] | None, bool, str | None]:
    """The list as a table, then the picked item's form. Returns the entered item, whether its
    "test" button was pressed (the caller runs the test) and the saved name it was opened from."""
    rows = [(i.get("name", ""), i.get(tag, ""), bool(i.get("enabled", True))) for i in items]
    table = pl.DataFrame(rows, schema={"name": pl.Utf8, tag: pl.Utf8, "enabled": pl.Boolean}, orient="row")
    render.grid(table, {"name": "Name", tag: tag.capitalize(), "enabled": "Enabled"})
    names = [str(i.get("name")) for i in items]
    picked = st.selectbox(f"{what.capitalize()} to edit", [*names, NEW], key=f"{K.W_SETTINGS}.{what}.pick")
    index = names.index(picked) if picked in names else None
    current = items[index] if index is not None else {}
    kind = current.get(tag) or st.selectbox(
        tag.capitalize(), list(variants), key=f"{K.W_SETTINGS}.{what}.tag"
    )
    tested = False
    entered: dict[str, Any] | None = None
    with st.form(f"settings.{what}.{picked}.{kind}", border=True):
        try:
            entered = {
                tag: kind,
                **model_fields(
                    variants[kind], current, f"{K.W_SETTINGS}.{what}.{picked}.{kind}", frozenset({tag})
                ),
            }
        except FieldErrors as exc:
            show_errors(exc)
        left, right = st.columns(2)
        saved = left.form_submit_button(f"Save {what}", icon=":material/save:")
        tested = right.form_submit_button(
            "Test now" if what == "source" else "Send test", icon=":material/science:"
        )
    if saved and entered is not None:
        entered = {k: v for k, v in entered.items() if v is not None}
        new = list(items)
        if index is None:
            new.append(entered)
        else:
            new[index] = entered
        save(lambda: store(new), f"Saved {what} {entered.get('name')}")
    if index is not None and st.button(
        f"Remove {what} {picked}", icon=":material/delete:", key=f"{K.W_SETTINGS}.{what}.remove"
    ):
        save(lambda: store([i for j, i in enumerate(items) if j != index]), f"Removed {what} {picked}")
    return entered, tested, (picked if index is not None else None)
