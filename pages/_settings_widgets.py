"""One setting's widget in Admin > Settings, chosen from its pydantic field (``_settings_form``
lays them out).

bool -> toggle, int/float -> number input with the field's bounds, str/path -> text input,
a choice (Literal, Enum) -> select box, SecretStr -> a write-only password input (empty keeps the
stored secret, which is never sent to the browser), anything else (lists, tables) -> a small TOML
editor of that one field. The label is readable; the description becomes the help text.
"""

from __future__ import annotations

import enum
import types
from pathlib import PurePath
from typing import Any, Literal, Union, get_args, get_origin

import streamlit as st
import tomli_w
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from pages._settings_toml import no_none, parse_field

MASKED = "********"  # what the seam shows in place of a stored secret


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (it, False)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _bounds(info: FieldInfo, integer: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in info.metadata:
        for attr, key, step in (("ge", "min_value", 0), ("gt", "min_value", 1), ("le", "max_value", 0)):
            value = getattr(m, attr, None)
            if value is not None:
                out[key] = (int(value) + step) if integer else float(value)
        if getattr(m, "lt", None) is not None:
            out["max_value"] = int(m.lt) - 1 if integer else float(m.lt)
    return out


UNITS = {"_s": " (s)", "_ms": " (ms)", "_pct": " (%)"}


def label_of(name: str) -> str:
    """A field's label as people read it: ``interval_s`` -> "Interval (s)", ``raw_days`` -> "Raw days"."""
    unit = next((u for suffix, u in UNITS.items() if name.endswith(suffix)), "")
    words = name.removesuffix(next((x for x in UNITS if name.endswith(x)), "")) if unit else name
    return words.replace("_", " ").capitalize() + unit


def field_widget(name: str, info: FieldInfo, value: Any, key: str) -> Any:
    """One field's widget; returns what was entered, in the type the setting takes. The label is
    readable, the help gives the description and the key as written in pulse.toml."""
    label = label_of(name)
    helptext = f"{info.description or ''}\n\n`{name}` in pulse.toml".strip()
    kind, optional = _unwrap(info.annotation)
    if kind is bool:
        return st.toggle(label, value=bool(value), key=key, help=helptext)
    if kind is SecretStr:
        stored = value == MASKED
        entered = st.text_input(
            label,
            type="password",
            key=key,
            help=helptext,
            placeholder="stored: leave empty to keep it" if stored else "not set",
        )
        return entered if entered or not optional or stored else None
    if get_origin(kind) is Literal or (isinstance(kind, type) and issubclass(kind, enum.Enum)):
        options = list(get_args(kind)) if get_origin(kind) is Literal else [e.value for e in kind]
        index = options.index(value) if value in options else 0
        return st.selectbox(label, options, index=index, key=key, help=helptext)
    if kind in (int, float):
        integer = kind is int
        shown = None if value is None else (int(value) if integer else float(value))
        return st.number_input(
            label, value=shown, key=key, help=helptext, step=1 if integer else None, **_bounds(info, integer)
        )
    if kind is str or (isinstance(kind, type) and issubclass(kind, PurePath)):
        text = st.text_input(label, value="" if value is None else str(value), key=key, help=helptext)
        return None if optional and not text.strip() else text
    text = st.text_area(
        f"{label} (TOML)",
        value=tomli_w.dumps(no_none({name: value})) if value is not None else "",
        key=key,
        help=helptext,
    )
    return parse_field(name, text)
