"""Secrets never reach the audit log: values under secret-looking keys, pydantic ``SecretStr`` and
``SecretBytes`` values and the password part of URLs are replaced by :data:`MASK`.

Applied by :func:`core.admin.audit.entry` to every ``before`` and ``after``, whatever the caller
put in, so a future settings change (a channel's token, a source's password) is masked too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretBytes, SecretStr

MASK = "********"
# key names holding secrets: password, passwd, secret, token, api_key, apikey, private_key,
# credentials, authorization, password_hash, webhook_url (Slack and Teams webhook URLs are secrets)
SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api[-_]?key|private[-_]?key|credential|authori[sz]ation|cookie"
    r"|(^|_)hash$|webhook[-_]?url|routing[-_]?key|dsn",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)(?P<value>[^/\s@]+)(?P<tail>@)")
# a URL's query parameter whose name says it is a secret: ?token=..., &api_key=..., &sig=...
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&](?P<name>[^=&#\s]*(?:token|key|secret|sig|signature|pass|auth|credential)[^=&#\s]*)=)"
    r"(?P<value>[^&#\s]+)(?P<tail>)",
    re.IGNORECASE,
)


def secret_key(name: str) -> bool:
    return bool(SECRET_KEY.search(name))


def mask_text(text: str) -> str:
    """``postgresql://u:pw@h/db`` -> ``postgresql://u:********@h/db``, ``https://h/x?token=t`` ->
    ``https://h/x?token=********``; other text unchanged."""
    if "://" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['tail']}", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['head']}{MASK}", text)


def unmask_text(new: str, stored: str) -> str:
    """``new`` (a form's value, edited from the masked ``stored``) with each masked part put back
    from ``stored``: the URL's password, and each secret query parameter by its name. A
    placeholder with no stored counterpart stays (a new URL typed around it)."""
    password = next((m["value"] for m in _URL_PASSWORD.finditer(stored)), None)
    params = {m["name"]: m["value"] for m in _QUERY_SECRET.finditer(stored)}

    def user(m: re.Match[str]) -> str:
        return f"{m['head']}{password}{m['tail']}" if m["value"] == MASK and password else m[0]

    def query(m: re.Match[str]) -> str:
        kept = params.get(m["name"])
        return f"{m['head']}{kept}" if m["value"] == MASK and kept else m[0]

    return _QUERY_SECRET.sub(query, _URL_PASSWORD.sub(user, new))


def mask(value: Any, key: str = "") -> Any:
    """``value`` made JSON-ready with every secret in it replaced by :data:`MASK`."""
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if key and secret_key(key) and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, Mapping):
        return {str(k): mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [mask(v) for v in items]
    if isinstance(value, str):
        return mask_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_text(str(value))  # enums, dates, paths: their text
