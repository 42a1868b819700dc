"""Free pages given back to the file system on SQLite, so that the file is what the store holds.

Compaction and retention delete head blocks, rollup rows and chunks; SQLite keeps their pages in
the file as free pages for later writes (a demo week's last compaction left 10 MB free in a
40 MB file). New databases are created with ``auto_vacuum = INCREMENTAL`` (see
``core.storage.engine``), and after maintenance :func:`reclaim` truncates the free pages once
they are over a tenth of the file and over 1 MiB; below that they are kept for the next
writes, which would only grow the file again. A database created before has no auto-vacuum and
is left as it is (``VACUUM`` would convert it, offline).

On PostgreSQL the tables that compaction empties as fast as writes fill them (head blocks, rollup
rows, dirty minutes) get a plain ``VACUUM`` (not FULL: no exclusive lock, readers and writers go
on) after maintenance. Autovacuum waits for 50 dead rows plus a fifth of the live ones, and a
backfill deletes a few large head rows per day of data: none of their TOAST space was reusable
until then, so a 30-day backfill left 84 MB of dead head TOAST beside 31 MB of chunks.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy.engine import Engine

from core.kernel.errors import StorageError
from core.storage.engine import storage_errors

log = logging.getLogger(__name__)

MIN_FREE_BYTES = 1 << 20
MIN_FREE_SHARE = 0.10


def reclaim(engine: Engine, lock: contextlib.AbstractContextManager[object] | None = None) -> int:
    """Truncate the free pages of an incrementally vacuumed SQLite file when they are worth it;
    returns the pages given back. Best effort: a busy or failing database keeps its free pages
    until the next run (they are reused by writes meanwhile), and nothing is raised."""
    if engine.dialect.name == "postgresql":
        _vacuum(engine)
        return 0
    if engine.dialect.name != "sqlite":
        return 0
    try:
        return _reclaim(engine, lock)
    except StorageError as exc:
        log.debug("free pages not reclaimed this time: %s", exc)
        return 0


def _reclaim(engine: Engine, lock: contextlib.AbstractContextManager[object] | None) -> int:
    held = lock if lock is not None else contextlib.nullcontext()
    with storage_errors("reclaiming free pages"), held, engine.connect() as conn:
        pragma = conn.exec_driver_sql
        if int(pragma("PRAGMA auto_vacuum").scalar_one()) != 2:  # 2: incremental
            return 0
        free = int(pragma("PRAGMA freelist_count").scalar_one())
        pages = int(pragma("PRAGMA page_count").scalar_one())
        size = int(pragma("PRAGMA page_size").scalar_one())
        if free * size < MIN_FREE_BYTES or free < pages * MIN_FREE_SHARE:
            return 0
        conn.commit()
        # executescript steps the pragma to its end (execute stops after one page)
        conn.connection.driver_connection.executescript("PRAGMA incremental_vacuum;")  # type: ignore[union-attr]
        return free - int(pragma("PRAGMA freelist_count").scalar_one())


CHURNED = ("head", "rollup_1m", "rollup_1h", "rollup_dirty")


def _vacuum(engine: Engine) -> None:
    """Plain VACUUM of the tables maintenance empties (best effort, like the SQLite side)."""
    try:
        with storage_errors("vacuuming"), engine.connect() as conn:
            dbapi = conn.connection.driver_connection  # VACUUM runs outside a transaction
            dbapi.rollback()  # type: ignore[union-attr]
            dbapi.autocommit = True  # type: ignore[union-attr]
            try:
                for table in CHURNED:  # through SQLAlchemy: the client-side deadline (IoGuard) holds
                    conn.exec_driver_sql(f"VACUUM {table}")
            finally:
                try:
                    dbapi.autocommit = False  # type: ignore[union-attr]
                except Exception:  # a broken connection: never back to the pool in autocommit
                    conn.invalidate()
    except StorageError as exc:
        log.debug("tables not vacuumed this time: %s", exc)
