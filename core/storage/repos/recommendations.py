"""Lifecycle events of recommendations: append one, read the history of a key, the latest state of
every key (optionally only some teams'). All their SQL is here."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.kernel.records.audit import AuditEntry
from core.kernel.records.recommendations import RecommendationEvent
from core.storage.engine import storage_errors
from core.storage.repos.audit import write_entry
from core.storage.schema_recommendations import recommendation_events as ev

_COLUMNS = (
    ev.c.key,
    ev.c.kind,
    ev.c.subject,
    ev.c.team,
    ev.c.state,
    ev.c.reason,
    ev.c.username,
    ev.c.at_ms,
    ev.c.until_ms,
    ev.c.id,
)


class RecommendationRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, e: RecommendationEvent, audit: AuditEntry | None = None) -> RecommendationEvent:
        """Append ``e`` (and its audit entry, in the same transaction)."""
        row = {c.name: getattr(e, c.name) for c in _COLUMNS if c.name != "id"}
        with storage_errors("recording a recommendation's state"), self.engine.begin() as conn:
            new_id = conn.execute(sa.insert(ev).values(row).returning(ev.c.id)).scalar_one()
            if audit is not None:
                write_entry(conn, audit)
        return RecommendationEvent(**{**row, "id": int(new_id)})

    def history(self, key: str) -> list[RecommendationEvent]:
        q = sa.select(*_COLUMNS).where(ev.c.key == key).order_by(ev.c.id)
        with storage_errors("reading a recommendation's history"), self.engine.connect() as conn:
            return [RecommendationEvent(**r._asdict()) for r in conn.execute(q).all()]

    def latest(self, teams: frozenset[str] | None = None) -> list[RecommendationEvent]:
        """The latest event of every key (of ``teams`` only when given; "" is no team's)."""
        last = sa.select(sa.func.max(ev.c.id).label("id")).group_by(ev.c.key)
        if teams is not None:
            last = last.where(ev.c.team.in_(sorted(teams)))
        q = (
            sa.select(*_COLUMNS)
            .where(ev.c.id.in_(last.scalar_subquery()))
            .order_by(ev.c.at_ms.desc(), ev.c.id.desc())
        )
        with storage_errors("reading recommendation states"), self.engine.connect() as conn:
            return [RecommendationEvent(**r._asdict()) for r in conn.execute(q).all()]
