"""Retention: drop data older than each resolution's retention period.

Chunks that straddle the cutoff are trimmed and re-encoded, so nothing older than the retention
period stays readable. Series without a 1 m rollup tier get their minute rows written from the
raw samples about to be dropped first (:func:`core.storage.tsdb.tiers.keep_minutes`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.kernel.settings import RetentionSettings
from core.storage.engine import storage_errors
from core.storage.schema import chunks, head, rollup_1h, rollup_1m, rollup_chunks
from core.storage.tsdb.chunks import decode_table, encode_table
from core.storage.tsdb.read import all_series_ids
from core.storage.tsdb.tiers import keep_minutes

DAY = 86_400_000


def _trim(conn: Connection, table: sa.Table, where: list[sa.ColumnElement[bool]], cutoff: int) -> int:
    """Delete chunks wholly before ``cutoff``; re-encode those that straddle it without the old rows."""
    c = table.c
    deleted = conn.execute(sa.delete(table).where(*where, c.end_ts < cutoff)).rowcount or 0
    keys = [k.name for k in table.primary_key.columns]
    straddling = conn.execute(sa.select(table).where(*where, c.start_ts < cutoff, c.end_ts >= cutoff)).all()
    for row in straddling:
        ts, cols = decode_table(row.data)
        keep = ts >= cutoff
        ident = [c[k] == getattr(row, k) for k in keys]
        conn.execute(
            sa.update(table)
            .where(*ident)
            .values(n=int(keep.sum()), data=encode_table(ts[keep], [col[keep] for col in cols]))
        )
    return deleted


def apply_retention(engine: Engine, settings: RetentionSettings, now_ms: int) -> dict[str, int]:
    """Delete expired head blocks, chunks and rollups; returns rows (or chunks) deleted per table."""
    raw_cut = now_ms - int(settings.raw_days * DAY)
    minute_cut = now_ms - int(settings.minute_days * DAY)
    hour_cut = now_ms - int(settings.hour_days * DAY)
    deleted = dict.fromkeys(("head", "chunks", "rollup_1m", "rollup_1h", "rollup_chunks"), 0)
    if minute_cut < raw_cut:  # minutes of series without the 1 m tier, before their raw samples go
        keep_minutes(engine, raw_cut, minute_cut)
    with storage_errors("applying retention"):
        with engine.begin() as conn:
            deleted["head"] = conn.execute(sa.delete(head).where(head.c.max_ts < raw_cut)).rowcount or 0
        with engine.connect() as conn:
            ids = all_series_ids(conn)
        rc = rollup_chunks.c
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            with engine.begin() as conn:
                deleted["chunks"] += _trim(conn, chunks, [chunks.c.series_id.in_(part)], raw_cut)
                for table, cutoff in ((rollup_1m, minute_cut), (rollup_1h, hour_cut)):
                    res = conn.execute(
                        sa.delete(table).where(table.c.series_id.in_(part), table.c.ts < cutoff)
                    )
                    deleted[table.name] += res.rowcount or 0
                for resolution, cutoff in ((60_000, minute_cut), (3_600_000, hour_cut)):
                    where = [rc.resolution == resolution, rc.series_id.in_(part)]
                    deleted["rollup_chunks"] += _trim(conn, rollup_chunks, where, cutoff)
    return deleted
