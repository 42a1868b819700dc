"""How many bytes the store takes: the SQLite file (with its WAL) or the PostgreSQL schema's relations."""

from __future__ import annotations

import os

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.storage.engine import storage_errors

_PG_SIZE = """
SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')
"""


def database_bytes(engine: Engine) -> int:
    """Bytes on disk of this store: for SQLite the file plus its WAL (pages in memory); for PostgreSQL
    the tables of the current schema with their indexes and TOAST (a shared database's other
    schemas are not counted)."""
    with storage_errors("measuring the database size"), engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            path = engine.url.database or ""
            if path and os.path.exists(path):  # the file and its WAL (not yet checkpointed pages)
                return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))
            pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
            return pages * int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
        return int(conn.execute(sa.text(_PG_SIZE)).scalar_one())
