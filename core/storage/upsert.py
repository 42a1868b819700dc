"""Dialect-aware upserts (SQLite and PostgreSQL share the ON CONFLICT form)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from core.storage.schema import ingest_rejects, rollup_dirty


def _insert(conn: Connection, table: Table) -> Any:
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    return mod.insert(table)


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: list[str]) -> None:
    """Insert rows, replacing the non-key columns of rows whose key exists."""
    if not rows:
        return
    stmt = _insert(conn, table)
    cols = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=cols), list(rows))


def mark_dirty(conn: Connection, resolution: int, buckets: Iterable[int]) -> None:
    rows = [{"resolution": resolution, "bucket": b} for b in buckets]
    if rows:
        conn.execute(_insert(conn, rollup_dirty).on_conflict_do_nothing(), rows)


def add_rejects(conn: Connection, rejects: Counter[tuple[str, str]], now_ms: int) -> None:
    stmt = _insert(conn, ingest_rejects)
    stmt = stmt.on_conflict_do_update(
        index_elements=["reason", "metric"],
        set_={"count": ingest_rejects.c.count + stmt.excluded["count"], "last_ms": stmt.excluded["last_ms"]},
    )
    rows = [{"reason": r, "metric": m, "count": n, "last_ms": now_ms} for (r, m), n in rejects.items()]
    conn.execute(stmt, rows)
