"""A form generated from a pydantic model's fields (Admin > Settings): the fields' widgets
(``pages/_settings_widgets.py``) in two columns, seeded from the values shown, each field's
default when it has none; problems shown by the setting they name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from core.kernel.errors import FieldErrors, PulseError
from core.kernel.text import md_text
from pages._settings_widgets import field_widget

T = TypeVar("T")


def default_of(info: FieldInfo) -> Any:
    """A field's default as the seam shows values (tables as dicts), None when it has none."""
    if info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, mode="json")
    if isinstance(value, list):
        return [v.model_dump(by_alias=True, mode="json") if isinstance(v, BaseModel) else v for v in value]
    return None if isinstance(value, SecretStr) else value


def model_fields(
    model: type[BaseModel], values: dict[str, Any], key: str, skip: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The widgets of ``model``'s fields (two columns) seeded from ``values`` (by alias); returns
    the entered values by alias. FieldErrors when a TOML field does not parse."""
    shown = [(info.alias or name, info) for name, info in model.model_fields.items()]
    shown = [(n, i) for n, i in shown if n not in skip]
    entered: dict[str, Any] = {}
    errors: dict[str, str] = {}
    columns = st.columns(2)
    for i, (name, info) in enumerate(shown):
        with columns[i % 2]:
            try:
                value = values[name] if name in values else default_of(info)
                entered[name] = field_widget(name, info, value, f"{key}.{name}")
            except FieldErrors as exc:
                errors |= exc.fields
    if errors:
        raise FieldErrors(errors)
    return entered


def show_errors(exc: FieldErrors) -> None:
    """Each problem with the setting it names, at the top of the form."""
    for text in exc.fields.values():
        st.error(md_text(text), icon=":material/error:")


def attempt(action: Callable[[], T]) -> T | None:
    """Run an admin action; None when it failed, its problems shown (each bad setting by name)."""
    try:
        return action()
    except FieldErrors as exc:
        show_errors(exc)
    except PulseError as exc:
        st.error(md_text(exc), icon=":material/error:")
    return None
