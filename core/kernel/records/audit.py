"""Plain records of the audit log (kept by ``core.storage.repos.audit``).

An entry says who changed what, when, from where, and the object's state before and after.
``before`` and ``after`` are JSON-ready mappings that ``core.admin.audit`` has already masked:
passwords, password hashes, tokens and secrets never reach this record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Values = Mapping[str, Any]
MAX_ROWS = 50_000  # a read returns at most this many entries, newest first


@dataclass(frozen=True)
class AuditEntry:
    at_ms: int
    actor: str  # the signed-in username, or ``cli:<os user>`` for the command line
    source: str  # "ui" or "cli"
    action: str  # "<object kind>.<verb>", e.g. "user.create", "silence.end"
    object_kind: str  # "user", "silence", ...
    object_id: str  # the username, the silence id, ...
    before: Values | None = None  # None: the object did not exist
    after: Values | None = None  # None: the object is gone
    id: int = 0  # given by the database
    note: str = field(default="")  # a short human summary, e.g. "role developer -> team_lead"


@dataclass(frozen=True)
class AuditQuery:
    """Which entries to read; every part given must match (None: any)."""

    since_ms: int | None = None
    until_ms: int | None = None
    actor: str | None = None
    action: str | None = None
    object_kind: str | None = None
    object_text: str | None = None  # part of the object id, any case
    limit: int = MAX_ROWS
