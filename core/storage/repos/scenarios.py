"""Saved what-if scenarios of the capacity planner, per owner and name. All their SQL is here."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.kernel.records.scenarios import ScenarioRecord
from core.storage.engine import storage_errors
from core.storage.schema_scenarios import plan_scenarios as t


class ScenarioRepo:
    """Reads and writes of the ``plan_scenarios`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, owner: str, name: str, settings: str, now_ms: int) -> bool:
        """Insert or replace ``owner``'s scenario ``name``; True when it replaced one."""
        key = (t.c.owner == owner) & (t.c.name == name)
        with storage_errors("saving a scenario"), self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(t).where(key).values(settings=settings, updated_ms=now_ms)
            ).rowcount
            if not updated:
                row = {
                    "owner": owner,
                    "name": name,
                    "settings": settings,
                    "created_ms": now_ms,
                    "updated_ms": now_ms,
                }
                conn.execute(sa.insert(t).values(row))
        return bool(updated)

    def list(self, owner: str) -> list[ScenarioRecord]:
        """``owner``'s scenarios by name."""
        q = sa.select(t.c.owner, t.c.name, t.c.settings, t.c.created_ms, t.c.updated_ms)
        with storage_errors("listing scenarios"), self.engine.connect() as conn:
            rows = conn.execute(q.where(t.c.owner == owner).order_by(t.c.name)).all()
        return [ScenarioRecord(*r) for r in rows]

    def delete(self, owner: str, name: str) -> bool:
        with storage_errors("deleting a scenario"), self.engine.begin() as conn:
            gone = conn.execute(sa.delete(t).where((t.c.owner == owner) & (t.c.name == name))).rowcount
        return bool(gone)
