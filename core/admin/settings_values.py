"""Settings as data: JSON-ready dumps (secrets revealed or masked), the overlay of the database's
overrides on the first-start settings, validation with one message per field, and secrets kept
where a form or an imported file left a placeholder.

Pure functions on the kernel's :class:`Settings`; the service (``core.admin.settings``) and the
daemon's reloader (``core.runtime.settings_reload``) share them, so both see one effective value.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

from pydantic import SecretBytes, SecretStr, ValidationError

from core.admin.masking import MASK, mask_text, secret_key, unmask_text
from core.kernel.errors import FieldErrors
from core.kernel.settings import Settings

SECTIONS: tuple[str, ...] = tuple(Settings.model_fields)
# read once, when a process starts: the database overrides none of them
RESTART_SECTIONS: dict[str, str] = {
    "database_url": "the database every process opens",
    "data_dir": "the spool and snapshot folders",
    "database": "the connection pool's timeouts",
    "spool": "the daemon's writer",
    "metrics": "the daemon's /metrics listener",
    "api": "the daemon's Prometheus API listener",
    "cluster": "leader election",
}
RESTART_KEYS: dict[tuple[str, str], str] = {
    ("auth", "cookie_name"): "every browser's sign-in cookie (a new name would sign everyone out)",
    ("alerting", "inbound"): "the daemon's inbound webhook listener",
    ("ingest", "buffer_max_samples"): "the daemon's writer",
}
NEXT_START = "takes effect at the next start: set it in pulse.toml or a PULSE_* variable"


def _json(value: Any, reveal: bool) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        if not reveal:
            return MASK
        secret = value.get_secret_value()
        return secret.decode() if isinstance(secret, bytes) else secret
    if isinstance(value, Mapping):
        return {str(k): _json(v, reveal) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v, reveal) for v in value]
    if isinstance(value, set | frozenset):
        return [_json(v, reveal) for v in sorted(value, key=str)]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, str) and not reveal:
        return mask_text(value)  # a webhook URL's password or ?token= never reaches a browser
    return value


def plain(settings: Settings) -> dict[str, Any]:
    """Every setting as JSON-ready data, secrets revealed (what the database stores)."""
    return dict(_json(settings.model_dump(by_alias=True), reveal=True))


def masked(settings: Settings) -> dict[str, Any]:
    """Every setting as JSON-ready data, each secret replaced by :data:`MASK` (what a browser,
    the audit log and an exported file get)."""
    return dict(_json(settings.model_dump(by_alias=True), reveal=False))


# fields whose bad input is never echoed in a message (a URL may carry a password)
SECRET_FIELDS = frozenset(
    {"database_url", "dsn", "password", "basic_auth_password", "bearer_token", "token", "routing_key",
     "webhook_url", "headers", "url", "client_secret"}
)  # fmt: skip


def setting_path(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as the setting's name: ``alerting.channels[0].url``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "settings"


PHRASES = (
    ("Input should be", "must be"),
    ("String should", "must"),
    ("List should", "must"),
    ("Value error, ", ""),
    ("Assertion failed, ", ""),
)


def error_text(err: Mapping[str, Any]) -> str:
    """What is wrong, in plain words (``must be greater than 0 (got -1)``); a secret's input is
    never echoed."""
    msg = str(err["msg"])
    for prefix, plain_words in PHRASES:
        if msg.startswith(prefix):
            msg = plain_words + msg[len(prefix) :]
    if err["type"] == "extra_forbidden":
        msg = "is not a setting of this section"
    if err["type"] == "missing":
        msg = "is required"
    got = err.get("input")
    if isinstance(got, str | int | float):
        hidden = any(isinstance(p, str) and (p in SECRET_FIELDS or secret_key(p)) for p in err["loc"])
        if not hidden and err["type"] not in ("extra_forbidden", "missing"):
            msg += f" (got {got!r})"
    return msg


def validate(data: Mapping[str, Any]) -> Settings:
    """``data`` as Settings, or FieldErrors mapping each bad setting (``alerting.channels[0].url``)
    to ``"<setting>: <what is wrong>"``. The environment and the TOML file are not read here."""
    try:
        return Settings.model_validate(dict(data))
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            where = setting_path(tuple(err["loc"]))
            fields.setdefault(where, f"{where}: {error_text(dict(err))}")
        raise FieldErrors(fields) from exc


def merge(current: Any, override: Any) -> Any:
    """A section's value with its override: a table's keys replaced one by one, anything else whole."""
    if isinstance(current, dict) and isinstance(override, dict):
        return {**current, **override}
    return override


def overlay(base: Settings, overrides: Mapping[str, Any]) -> Settings:
    """The effective settings: ``base`` (the file and the environment) with each section's stored
    override on top (None: no override); validated as a whole."""
    data = plain(base)
    for section, value in overrides.items():
        if value is not None and section in data and section not in RESTART_SECTIONS:
            data[section] = merge(data[section], value)
    return validate(data)


def keep_secrets(new: Any, stored: Any, shown: Any) -> Any:
    """``new`` with the stored value put back wherever it holds the placeholder :data:`MASK`, or
    an empty text where a secret is (``shown`` is the masked form of ``stored``). Items of lists of
    tables are matched by their ``name`` when they have one, else by position."""
    if new == MASK or (new == "" and shown == MASK):
        return stored
    if isinstance(new, str) and MASK in new and isinstance(stored, str):
        return unmask_text(new, stored)  # a URL whose password or token was shown masked
    if isinstance(new, dict):
        old = stored if isinstance(stored, dict) else {}
        seen = shown if isinstance(shown, dict) else {}
        return {k: keep_secrets(v, old.get(k), seen.get(k)) for k, v in new.items()}
    if isinstance(new, list):
        old_list = stored if isinstance(stored, list) else []
        seen_list = shown if isinstance(shown, list) else []
        named = {
            item.get("name"): (item, seen_item)
            for item, seen_item in zip(old_list, seen_list, strict=False)
            if isinstance(item, dict) and item.get("name") is not None
        }
        out = []
        old_item: Any
        seen_item: Any
        for i, item in enumerate(new):
            if isinstance(item, dict) and item.get("name") in named:
                old_item, seen_item = named[item["name"]]
            else:
                old_item = old_list[i] if i < len(old_list) else None
                seen_item = seen_list[i] if i < len(seen_list) else None
            out.append(keep_secrets(item, old_item, seen_item))
        return out
    return new


def without_none(value: Any) -> Any:
    """``value`` without None (TOML has no null: a missing key means the default)."""
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value if v is not None]
    return value
