"""The audit log's SQL: entries written inside the caller's transaction, and read with filters.

:func:`write_entry` takes an open connection, so a change and its entry commit or roll back
together (``core.storage.repos.users`` and ``notifications`` call it in their own transactions).
``before`` and ``after`` arrive masked (``core.admin.audit``); they are stored as JSON, and a value
JSON cannot hold (a pydantic ``SecretStr``, say) is refused rather than stored as its repr.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.kernel.records.audit import MAX_ROWS, AuditEntry, AuditQuery, Values
from core.storage.engine import storage_errors
from core.storage.schema_audit import audit_log


def _dump(values: Values | None) -> str | None:
    if values is None:
        return None
    return json.dumps(dict(values), sort_keys=True, ensure_ascii=False)  # TypeError for a non-JSON value


def _load(text: str | None) -> dict[str, Any] | None:
    return None if text is None else dict(json.loads(text))


def _row(e: AuditEntry) -> dict[str, Any]:
    return {
        "at_ms": e.at_ms,
        "actor": e.actor[:100],
        "source": e.source[:10],
        "action": e.action[:60],
        "object_kind": e.object_kind[:40],
        "object_id": e.object_id[:200],
        "before": _dump(e.before),
        "after": _dump(e.after),
        "note": e.note[:500],
    }


_INSERT = sa.insert(audit_log)


class AuditRow(NamedTuple):
    at_ms: int
    actor: str
    source: str
    action: str
    object_kind: str
    object_id: str
    note: str
    before: str  # JSON text, "" for none
    after: str


def write_entry(conn: Connection, entry: AuditEntry) -> None:
    """Append ``entry`` inside the caller's transaction."""
    conn.execute(_INSERT, [_row(entry)])  # one compiled statement for every entry


def _where(q: AuditQuery) -> list[sa.ColumnElement[bool]]:
    c = audit_log.c
    found: list[sa.ColumnElement[bool]] = []
    if q.since_ms is not None:
        found.append(c.at_ms >= q.since_ms)
    if q.until_ms is not None:
        found.append(c.at_ms <= q.until_ms)
    for column, value in ((c.actor, q.actor), (c.action, q.action), (c.object_kind, q.object_kind)):
        if value is not None:
            found.append(column == value)
    if q.object_text:
        escaped = q.object_text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found.append(sa.func.lower(c.object_id).like(f"%{escaped}%", escape="\\"))
    return found


class AuditRepo:
    """Reads and writes of the ``audit_log`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, entry: AuditEntry) -> None:
        """Append one entry in its own transaction (for changes that are not stored by Pulse)."""
        with storage_errors("writing the audit log"), self.engine.begin() as conn:
            write_entry(conn, entry)

    def _select(self, query: AuditQuery) -> list[sa.RowMapping]:
        c = audit_log.c
        sel = sa.select(audit_log).where(*_where(query)).order_by(c.at_ms.desc(), c.id.desc())
        with storage_errors("reading the audit log"), self.engine.connect() as conn:
            return list(conn.execute(sel.limit(max(1, min(query.limit, MAX_ROWS)))).mappings().all())

    def rows(self, query: AuditQuery | None = None) -> list[AuditRow]:
        """Entries matching ``query``, newest first, with ``before`` and ``after`` as their JSON
        text ("" for none): what a table or a CSV shows, without parsing them."""
        return [
            AuditRow(
                int(r["at_ms"]), r["actor"], r["source"], r["action"], r["object_kind"], r["object_id"],
                r["note"], r["before"] or "", r["after"] or "",
            )
            for r in self._select(query or AuditQuery())
        ]  # fmt: skip

    def read(self, query: AuditQuery | None = None) -> list[AuditEntry]:
        """Entries matching ``query``, newest first."""
        rows = self._select(query or AuditQuery())
        return [
            AuditEntry(
                at_ms=int(r["at_ms"]),
                actor=r["actor"],
                source=r["source"],
                action=r["action"],
                object_kind=r["object_kind"],
                object_id=r["object_id"],
                before=_load(r["before"]),
                after=_load(r["after"]),
                id=int(r["id"]),
                note=r["note"],
            )
            for r in rows
        ]

    def distinct(self, column: str) -> list[str]:
        """The values of ``actor``, ``action`` or ``object_kind`` seen so far (for filter choices)."""
        if column not in ("actor", "action", "object_kind"):
            raise ValueError(f"no filter on audit column {column!r}")
        col = audit_log.c[column]
        with storage_errors("reading the audit log"), self.engine.connect() as conn:
            return [str(v) for v in conn.execute(sa.select(col).distinct().order_by(col)).scalars()]
