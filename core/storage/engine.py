"""Engines, connection settings and schema upgrades (Alembic, run at start-up)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from core.kernel.errors import StorageError, StorageUnavailable
from core.kernel.files import private_dir, private_file

MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and their folder created."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        db = sa.make_url(url).database
        if db and db != ":memory:":
            try:
                private_dir(Path(db).parent)
                private_file(Path(db))  # SQLite gives its -wal and -shm files the same mode
            except OSError as exc:
                raise StorageError(
                    f"cannot create the folder of the SQLite database {db!r} ({exc}); "
                    "fix setting 'database_url' or the folder's permissions"
                ) from exc
        engine = sa.create_engine(url, connect_args={"timeout": 5})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


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


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest Alembic revision."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with storage_errors("upgrading the database schema"), engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with storage_errors("reading the schema revision"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
