"""Retention: drop data older than each resolution's retention period."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.config import RetentionSettings
from core.storage.engine import storage_errors
from core.storage.read import all_series_ids
from core.storage.schema import chunks, head, rollup_1h, rollup_1m

DAY = 86_400_000


def apply_retention(engine: Engine, settings: RetentionSettings, now_ms: int) -> dict[str, int]:
    """Delete expired head blocks, chunks and rollups; returns rows deleted per table."""
    plan = [
        (chunks, chunks.c.end_ts, now_ms - int(settings.raw_days * DAY)),
        (rollup_1m, rollup_1m.c.ts, now_ms - int(settings.minute_days * DAY)),
        (rollup_1h, rollup_1h.c.ts, now_ms - int(settings.hour_days * DAY)),
    ]
    deleted = dict.fromkeys((t.name for t, _, _ in plan), 0)
    deleted["head"] = 0
    with storage_errors("applying retention"):
        with engine.begin() as conn:
            res = conn.execute(sa.delete(head).where(head.c.max_ts < now_ms - int(settings.raw_days * DAY)))
            deleted["head"] = res.rowcount or 0
        with engine.connect() as conn:
            ids = all_series_ids(conn)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            with engine.begin() as conn:
                for table, ts_col, cutoff in plan:
                    res = conn.execute(sa.delete(table).where(table.c.series_id.in_(part), ts_col < cutoff))
                    deleted[table.name] += res.rowcount or 0
    return deleted
