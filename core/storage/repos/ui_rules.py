"""Alert rules made in the UI: one row per rule, each change with its audit entry in one transaction.

Every write also raises the one number in ``ui_rules_version`` (:meth:`UiRuleRepo.version`), in
the same transaction: the daemon's leader reads that number at each check and reloads its rules
only when it moved. An edit or delete names the ``revision`` it started from and changes nothing
when the row moved on meanwhile (another admin saved first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.kernel.records.audit import AuditEntry
from core.kernel.records.ui_rules import UiRuleRecord
from core.storage.engine import storage_errors
from core.storage.repos.audit import write_entry
from core.storage.schema_rules import ui_rules as t
from core.storage.schema_rules import ui_rules_version as v

_COLUMNS = (t.c.group_name, t.c.name, t.c.rule_yaml, t.c.enabled, t.c.author, t.c.updated_ms, t.c.revision)


def _row(r: UiRuleRecord) -> dict[str, Any]:
    return {
        "group_name": r.group,
        "name": r.name,
        "rule_yaml": r.rule_yaml,
        "enabled": r.enabled,
        "author": r.author[:100],
        "updated_ms": r.updated_ms,
        "revision": r.revision,
    }


def _record(row: Sequence[Any]) -> UiRuleRecord:
    group, name, text, enabled, author, updated_ms, revision = row
    return UiRuleRecord(group, name, text, bool(enabled), author, int(updated_ms), int(revision))


def _key(group: str, name: str) -> sa.ColumnElement[bool]:
    return (t.c.group_name == group) & (t.c.name == name)


def _bump(conn: Connection) -> None:
    """One more change of the UI rules (the number the leader watches)."""
    if not conn.execute(sa.update(v).where(v.c.id == 1).values(version=v.c.version + 1)).rowcount:
        conn.execute(sa.insert(v).values(id=1, version=1))


def _exists(conn: Connection, group: str, name: str) -> bool:
    return conn.execute(sa.select(t.c.revision).where(_key(group, name))).first() is not None


class UiRuleRepo:
    """Reads and writes of the ``ui_rules`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def version(self) -> int:
        """The number of changes made so far (0: never any): one row, read at every check."""
        with storage_errors("reading the UI rules' version"), self.engine.connect() as conn:
            return int(conn.execute(sa.select(v.c.version).where(v.c.id == 1)).scalar() or 0)

    def all(self) -> list[UiRuleRecord]:
        """Every UI rule, by group and name."""
        with storage_errors("reading the UI rules"), self.engine.connect() as conn:
            rows = conn.execute(sa.select(*_COLUMNS).order_by(t.c.group_name, t.c.name)).all()
        return [_record(r) for r in rows]

    def get(self, group: str, name: str) -> UiRuleRecord | None:
        with storage_errors("reading a UI rule"), self.engine.connect() as conn:
            row = conn.execute(sa.select(*_COLUMNS).where(_key(group, name))).first()
        return None if row is None else _record(row)

    def add(self, records: Sequence[UiRuleRecord], audits: Sequence[AuditEntry] = ()) -> list[str]:
        """Insert every record, or none: the ``group/name`` keys already taken (nothing written)."""
        with storage_errors("saving UI rules"), self.engine.begin() as conn:
            taken = [f"{r.group}/{r.name}" for r in records if _exists(conn, r.group, r.name)]
            if taken or not records:
                return taken
            conn.execute(sa.insert(t), [_row(r) for r in records])
            for a in audits:
                write_entry(conn, a)
            _bump(conn)
        return []

    def replace(
        self, group: str, name: str, revision: int, new: UiRuleRecord, audit: AuditEntry | None = None
    ) -> UiRuleRecord | None:
        """Replace the rule ``group/name`` at ``revision`` with ``new`` (its key may differ: a
        rename); None when the rule is gone, moved past ``revision``, or ``new``'s key is taken."""
        with storage_errors("saving a UI rule"), self.engine.begin() as conn:
            renamed = (new.group, new.name) != (group, name)
            if renamed and _exists(conn, new.group, new.name):
                return None
            saved = UiRuleRecord(**{**new.__dict__, "revision": revision + 1})
            done = conn.execute(
                sa.update(t).where(_key(group, name) & (t.c.revision == revision)).values(_row(saved))
            ).rowcount
            if not done:
                return None
            if audit is not None:
                write_entry(conn, audit)
            _bump(conn)
        return saved

    def delete(self, group: str, name: str, revision: int, audit: AuditEntry | None = None) -> bool:
        """Delete the rule at ``revision``; False when it is gone or moved on."""
        with storage_errors("deleting a UI rule"), self.engine.begin() as conn:
            done = conn.execute(sa.delete(t).where(_key(group, name) & (t.c.revision == revision))).rowcount
            if not done:
                return False
            if audit is not None:
                write_entry(conn, audit)
            _bump(conn)
        return True
