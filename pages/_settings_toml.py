"""A setting as TOML text in Admin > Settings: what a text area shows (TOML has no null, so None
is left out) and what it parses back to, a problem naming the setting."""

from __future__ import annotations

import tomllib
from typing import Any

from core.kernel.errors import FieldErrors


def parse_field(name: str, text: str) -> Any:
    """``name``'s value in the TOML ``text`` (None when empty); FieldErrors naming it when the
    text does not parse."""
    if not text.strip():
        return None
    try:
        return tomllib.loads(text).get(name)
    except tomllib.TOMLDecodeError as exc:
        raise FieldErrors({name: f"{name}: not valid TOML: {exc}"}) from exc


def no_none(value: Any) -> Any:
    """``value`` without None (TOML has no null: a key left out takes its default)."""
    if isinstance(value, dict):
        return {k: no_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [no_none(v) for v in value if v is not None]
    return value
