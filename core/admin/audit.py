"""Audit entries: who changed what, when, from where, before and after (secrets masked).

Every admin change builds its entry here (:func:`entry`) and hands it to the repository that
writes the change, which writes both in one transaction. :func:`frame` turns entries into the
table of the audit view and ``pulse audit``.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from core.admin.masking import mask
from core.kernel.records.audit import AuditEntry, AuditQuery
from core.kernel.records.notifications import Silence
from core.kernel.records.users import UserRecord
from core.storage.repos.audit import AuditRepo

UI, CLI, SYSTEM = "ui", "cli", "system"


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in username (``ui``) or ``cli:<os user>`` (``cli``)."""

    name: str
    source: str = UI

    @classmethod
    def cli(cls) -> Actor:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (a container)
            who = "unknown"
        return cls(f"cli:{who}", CLI)


def entry(
    actor: Actor,
    action: str,
    object_id: str,
    now_ms: int,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
) -> AuditEntry:
    """The entry of one change, ``before`` and ``after`` masked. ``action`` is ``<kind>.<verb>``."""
    kind = action.split(".", 1)[0]
    return AuditEntry(
        at_ms=now_ms,
        actor=actor.name,
        source=actor.source,
        action=action,
        object_kind=kind,
        object_id=object_id,
        before=None if before is None else mask(dict(before)),
        after=None if after is None else mask(dict(after)),
        note=note or changes(before, after),
    )


# -- what an object looks like in the log ----------------------------------------------------------
def user_values(user: UserRecord) -> dict[str, Any]:
    """A user as the log shows it: never the password hash, the lockout counters or the id."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "teams": list(user.teams),
        "disabled": user.disabled,
    }


def silence_values(s: Silence) -> dict[str, Any]:
    return {
        "matchers": s.matcher_text,
        "starts_ms": s.starts_ms,
        "ends_ms": s.ends_ms,
        "created_by": s.created_by,
        "comment": s.comment,
    }


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """``role: developer -> team_lead; teams: [] -> ["a"]`` (masked values stay masked)."""
    b, a = mask(dict(before or {})), mask(dict(after or {}))
    if before is None and after is not None:
        return "created"
    if after is None and before is not None:
        return "removed"
    parts = [
        f"{k}: {_short(b.get(k))} -> {_short(a.get(k))}"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]
    return "; ".join(parts)


# -- reading ---------------------------------------------------------------------------------------
SCHEMA: dict[str, Any] = {
    "time": pl.Datetime("ms", "UTC"),
    "actor": pl.Utf8,
    "source": pl.Utf8,
    "action": pl.Utf8,
    "object": pl.Utf8,
    "changes": pl.Utf8,
    "before": pl.Utf8,
    "after": pl.Utf8,
}


def _json(values: Mapping[str, Any] | None) -> str:
    return "" if values is None else json.dumps(dict(values), sort_keys=True, ensure_ascii=False)


def frame(entries: list[AuditEntry]) -> pl.DataFrame:
    """One row per entry, newest first: time (UTC), who, from where, what, on which object, the
    changed fields, and the whole before and after as JSON text."""
    rows = [
        (
            e.at_ms,
            e.actor,
            e.source,
            e.action,
            f"{e.object_kind}:{e.object_id}",
            e.note,
            _json(e.before),
            _json(e.after),
        )
        for e in entries
    ]
    return _frame(rows)


def _frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    schema = {**SCHEMA, "time": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(pl.col("time").cast(SCHEMA["time"]))


def read(repo: AuditRepo, query: AuditQuery) -> pl.DataFrame:
    """:func:`frame` of the entries matching ``query``, their JSON kept as stored (not re-parsed)."""
    rows = [
        (r.at_ms, r.actor, r.source, r.action, f"{r.object_kind}:{r.object_id}", r.note, r.before, r.after)
        for r in repo.rows(query)
    ]
    return _frame(rows)
