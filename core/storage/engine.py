"""Engines, connection settings and schema upgrades (Alembic, run at start-up)."""

from __future__ import annotations

import contextlib
import functools
import logging
import weakref
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from core.kernel.errors import StorageError, StorageUnavailable
from core.kernel.files import private_dir, private_file
from core.kernel.settings import DatabaseSettings
from core.storage.guard import IoGuard

MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_conn: object, _record: object, busy_ms: int = 5000) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    if cur.execute("PRAGMA page_count").fetchone()[0] == 0:  # a new file: free pages can be given back
        cur.execute("PRAGMA auto_vacuum=INCREMENTAL")  # (core.storage.reclaim); only before any table
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.close()


@functools.cache
def _sqlite_memory_fn() -> Callable[[], int] | None:
    import ctypes
    import ctypes.util
    import sqlite3  # noqa: F401  # loads the library Python's sqlite3 uses, so its counters are ours

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
        used = lib.sqlite3_memory_used
    except (OSError, AttributeError):
        return None
    used.restype = ctypes.c_int64
    return used


def sqlite_memory_used() -> int:
    """Bytes SQLite holds in this process (``sqlite3_memory_used``: the page caches of the pooled
    connections, 2 MB each by default, their schemas and statements); 0 where the library cannot
    be reached (a Python whose sqlite3 is linked in statically)."""
    used = _sqlite_memory_fn()
    return int(used()) if used is not None else 0


_GUARDS: weakref.WeakKeyDictionary[Engine, IoGuard] = weakref.WeakKeyDictionary()


def guard_of(engine: Engine) -> IoGuard | None:
    """The client-side deadline guard of a PostgreSQL engine made by :func:`make_engine`."""
    return _GUARDS.get(engine)


def _pg_url(url: str, db: DatabaseSettings) -> sa.URL:
    """``url`` with statement_timeout and lock_timeout added to its ``options`` (kept, if any)."""
    u = sa.make_url(url)
    opts = u.query.get("options", "")
    if isinstance(opts, tuple):
        opts = " ".join(opts)
    extra = f"-c statement_timeout={int(db.statement_timeout_s * 1000)} -c lock_timeout={int(db.lock_timeout_s * 1000)}"
    return u.update_query_dict({"options": f"{opts} {extra}".strip()})


def make_engine(url: str, db: DatabaseSettings | None = None) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and their folder created.

    Every PostgreSQL call is bounded: ``connect_timeout``, ``statement_timeout`` and
    ``lock_timeout`` on the server side, and a client-side deadline (:class:`IoGuard`) for a server
    that does not answer at all.
    """
    limits = db or DatabaseSettings()
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = sa.make_url(url).database
        if path and path != ":memory:":
            try:
                private_dir(Path(path).parent)
                private_file(Path(path))  # SQLite gives its -wal and -shm files the same mode
            except OSError as exc:
                raise StorageError(
                    f"cannot create the folder of the SQLite database {path!r} ({exc}); "
                    "fix setting 'database_url' or the folder's permissions"
                ) from exc
        engine = sa.create_engine(url, connect_args={"timeout": limits.sqlite_busy_timeout_ms / 1000})
        sa.event.listen(engine, "connect", partial(_sqlite_pragmas, busy_ms=limits.sqlite_busy_timeout_ms))
        return engine
    engine = sa.create_engine(
        _pg_url(url, limits),
        connect_args={"connect_timeout": limits.connect_timeout_s},
        pool_size=5,
        max_overflow=5,
        pool_timeout=limits.io_timeout_s,
    )
    guard = IoGuard(limits.io_timeout_s)
    guard.install(engine)
    _GUARDS[engine] = guard
    return engine


def _raw_operational() -> tuple[type[Exception], ...]:
    import sqlite3

    found: list[type[Exception]] = [sqlite3.OperationalError]
    try:
        import psycopg

        found.append(psycopg.OperationalError)
    except ImportError:  # pragma: no cover - psycopg is a dependency
        pass
    return tuple(found)


_RAW_OPERATIONAL = _raw_operational()
_CORRUPT = ("not a database", "malformed", "file is encrypted")


def _corrupt(what: str, msg: str, exc: Exception) -> StorageError:
    return StorageError(
        f"{what}: the database file is corrupt or not a SQLite database ({msg}); "
        "move it aside or restore a backup, then start again"
    )


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Translate driver errors into Pulse's StorageUnavailable / StorageError with advice."""
    try:
        yield
    except OperationalError as exc:
        msg = (str(exc.orig) if exc.orig is not None else str(exc)).strip()
        if any(m in msg for m in _CORRUPT):
            raise _corrupt(what, msg, exc) from exc
        raise StorageUnavailable(f"{what}: database unavailable ({msg})") from exc
    except DatabaseError as exc:
        msg = (str(exc.orig) if exc.orig is not None else str(exc)).strip()
        if any(m in msg for m in _CORRUPT):
            raise _corrupt(what, msg, exc) from exc
        raise StorageError(
            f"{what}: the database refused the operation ({msg}); if the file is corrupt, "
            "move it aside or restore a backup"
        ) from exc
    except _RAW_OPERATIONAL as exc:  # the ingest hot path uses the DBAPI cursor: its errors come raw
        msg = str(exc).strip()
        if any(m in msg for m in _CORRUPT):
            raise _corrupt(what, msg, exc) from exc
        raise StorageUnavailable(f"{what}: database unavailable ({msg})") from exc


def upgrade(engine: Engine, verbose: bool = False) -> None:
    """Create or upgrade the schema to the newest Alembic revision (alembic's INFO lines only if
    ``verbose``)."""
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with storage_errors("upgrading the database schema"), engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with storage_errors("reading the schema revision"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def begin_locked(
    engine: Engine, lock: contextlib.AbstractContextManager[object] | None = None
) -> Iterator[Connection]:
    """One write transaction, holding ``lock`` (a store's write lock) only for its length.

    Maintenance (rollups, compaction) works in many short transactions taking the lock for each,
    so the collectors' writes go in between instead of waiting for the whole run."""
    with lock if lock is not None else contextlib.nullcontext(), engine.begin() as conn:
        yield conn
