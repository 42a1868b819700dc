"""The whole settings as one TOML file: written with secrets as placeholders, read back with the
line of a problem in its message.

An exported file imports unchanged: a placeholder (:data:`core.admin.masking.MASK`) keeps the
stored secret. Keys with no value (None) are left out, TOML having no null.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import tomli_w

from core.admin.settings_values import without_none
from core.kernel.errors import FieldErrors

HEADER = (
    "# MCP Pulse settings, exported {when} (revision {revision}).\n"
    "# Secrets read ********: importing this file keeps the stored ones; write a new value to change one.\n"
    "# Sections read at start only (database, metrics, api, cluster, auth, spool, database_url, data_dir)\n"
    "# are not changed by an import: set them in pulse.toml or PULSE_* variables.\n\n"
)


def dump(values: dict[str, Any], when: str, revision: int) -> str:
    """``values`` (masked, JSON-ready) as TOML text, plain keys first as TOML requires."""
    data = without_none(values)
    ordered = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
    ordered |= {k: v for k, v in data.items() if isinstance(v, list) and not _tables(v)}
    ordered |= {k: v for k, v in data.items() if k not in ordered}
    return HEADER.format(when=when, revision=revision) + tomli_w.dumps(ordered)


def _tables(value: list[Any]) -> bool:
    return bool(value) and all(isinstance(v, dict) for v in value)


def parse(text: str) -> dict[str, Any]:
    """The file's tables, or FieldErrors ``{"file": "line 3, column 7: ..."}`` naming where it broke."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        where = f"line {line}: " if line and "line" not in str(exc) else ""
        raise FieldErrors({"file": f"the settings file is not valid TOML: {where}{exc}"}) from exc


def line_of(text: str, where: str) -> int | None:
    """The line (1-based) of setting ``where`` (``alerting.evaluation_interval_s``) in ``text``:
    its key under its section's table, else the table's header; None when neither is found."""
    section, _, rest = where.partition(".")
    section = section.split("[", 1)[0]
    key = re.split(r"[.\[]", rest, maxsplit=1)[0] if rest else ""
    header = re.compile(rf"^\s*\[\[?\s*{re.escape(section)}(\s*\]|\.)")
    found: int | None = None
    inside = False
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("["):
            inside = bool(header.match(line))
            if inside and found is None:
                found = n
            continue
        if not inside and re.match(rf"^\s*{re.escape(section)}\s*=", line):
            return n
        if inside and key and re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return n
    return found


def with_lines(errors: FieldErrors, text: str) -> FieldErrors:
    """``errors`` with the line of each setting in ``text`` put in front of its message."""
    out = {}
    for where, msg in errors.fields.items():
        line = line_of(text, where)
        out[where] = f"line {line}: {msg}" if line else msg
    return FieldErrors(out)
