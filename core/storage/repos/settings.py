"""The settings overrides' SQL: read them, read the highest revision, save changes with their audit.

:meth:`SettingsRepo.save` writes every changed section and its audit entries in one transaction
under one new revision, so a daemon polling :meth:`SettingsRepo.revision` sees either all of a
change or none of it. Values arrive as plain JSON-ready data (secrets included: the database is
where they live, like the TOML file); masking is the caller's job.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.kernel.records.audit import AuditEntry
from core.storage.engine import storage_errors
from core.storage.repos.audit import write_entry
from core.storage.schema_settings import settings_overrides as table


class Override(NamedTuple):
    """One section's stored override: ``value`` None when the section was reset to the file's."""

    section: str
    value: Any
    revision: int
    updated_by: str
    updated_ms: int


class SettingsRepo:
    """Reads and writes of the ``settings_overrides`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def revision(self) -> int:
        """The revision of the last change (0 before any): what daemons poll."""
        with storage_errors("reading the settings revision"), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(table.c.revision))).scalar() or 0)

    def overrides(self) -> dict[str, Override]:
        """Every section's row by name, reset sections (value None) included."""
        with storage_errors("reading the settings"), self.engine.connect() as conn:
            rows = conn.execute(sa.select(table)).mappings().all()
        return {
            r["section"]: Override(
                r["section"],
                None if r["value"] is None else json.loads(r["value"]),
                int(r["revision"]),
                r["updated_by"],
                int(r["updated_ms"]),
            )
            for r in rows
        }

    def save(
        self, values: Mapping[str, Any], actor: str, now_ms: int, entries: Iterable[AuditEntry] = ()
    ) -> int:
        """Store ``values`` (section -> its override, None to reset it) and ``entries`` in one
        transaction under one new revision, which is returned."""
        with storage_errors("saving the settings"), self.engine.begin() as conn:
            revision = int(conn.execute(sa.select(sa.func.max(table.c.revision))).scalar() or 0) + 1
            for section, value in values.items():
                row = {
                    "value": None if value is None else json.dumps(value, sort_keys=True),
                    "revision": revision,
                    "updated_by": actor[:100],
                    "updated_ms": now_ms,
                }
                done = conn.execute(sa.update(table).where(table.c.section == section).values(**row))
                if done.rowcount == 0:
                    conn.execute(sa.insert(table).values(section=section, **row))
            for e in entries:
                write_entry(conn, e)
        return revision
