"""The leader lock: which of the daemons on one database evaluates alerts and runs the maintenance.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) taken on a dedicated
connection that stays open for as long as the daemon leads. The server releases it the moment that
connection ends: at once when the leader's process dies (its kernel closes the socket), and after
``lost_after_s`` when its host or network dies (server-side TCP keepalives and ``tcp_user_timeout``
set on that connection). The key is the current schema's, so schemas of one database elect apart.

SQLite: an exclusive ``flock`` on ``<database>.leader``, held by the one daemon a SQLite file
allows; a second daemon on the same file finds it taken and is refused by the runtime.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from core.kernel.errors import StorageUnavailable
from core.kernel.settings import DatabaseSettings
from core.storage.engine import normalise_url
from core.storage.guard import IoGuard

CLASS_ID = 0x50554C53  # "PULS": the first key of every Pulse advisory lock
_KEY = f"{CLASS_ID}, hashtext(current_schema())"


class LeaderLock(Protocol):
    """One daemon's handle on the lock. ``try_acquire`` and ``check`` raise StorageUnavailable when
    the database does not answer (the caller then acts as a follower)."""

    kind: str

    def try_acquire(self) -> bool: ...

    def check(self) -> bool: ...

    def holder(self) -> str | None: ...

    def close(self) -> None: ...


def _pg_conninfo(url: str, node: str, db: DatabaseSettings, lost_after_s: int) -> tuple[str, dict[str, Any]]:
    """libpq parameters of the lock connection: the engine's URL (its options, e.g. search_path,
    kept), client and server keepalives, and a name that shows in ``pg_stat_activity``."""
    u = sa.make_url(normalise_url(url)).set(drivername="postgresql")
    opts = u.query.get("options", "")
    if isinstance(opts, tuple):
        opts = " ".join(opts)
    idle, interval = max(1, lost_after_s // 3), max(1, lost_after_s // 6)
    check_ms = int(lost_after_s * 1000 / 3)
    server = (
        f"-c tcp_keepalives_idle={idle} -c tcp_keepalives_interval={interval} -c tcp_keepalives_count=3"
        f" -c tcp_user_timeout={lost_after_s * 1000} -c statement_timeout={check_ms}"
    )
    params: dict[str, Any] = {
        "options": f"{opts} {server}".strip(),
        "application_name": f"pulse-leader:{node}"[:63],
        "connect_timeout": db.connect_timeout_s,
        "keepalives": 1,
        "keepalives_idle": idle,
        "keepalives_interval": interval,
        "keepalives_count": 3,
        "tcp_user_timeout": lost_after_s * 1000,
        "autocommit": True,
    }
    return u.set(query={}).render_as_string(hide_password=False), params


class PgAdvisoryLock:
    """``pg_try_advisory_lock`` on a connection of its own (not the engine's pool: a pooled
    connection is recycled, and the pool's deadline guard would cut one held open)."""

    kind = "postgresql"

    def __init__(
        self, url: str, node: str, db: DatabaseSettings | None = None, lost_after_s: int = 15
    ) -> None:
        self._conninfo, self._params = _pg_conninfo(url, node, db or DatabaseSettings(), lost_after_s)
        self._guard = IoGuard(max(1.0, lost_after_s / 3))  # a frozen server: the call is cut, not waited on
        self._conn: Any = None
        self.held = False

    def _run(self, what: str, sql: str) -> Any:
        import psycopg

        try:
            if self._conn is None or self._conn.closed:
                self.held = False
                self._conn = psycopg.connect(self._conninfo, **self._params)
            self._guard.arm(self._conn)
            try:
                row = self._conn.execute(sql).fetchone()
            finally:
                self._guard.disarm(self._conn)
        except psycopg.Error as exc:
            self._drop()
            raise StorageUnavailable(f"{what}: database unavailable ({str(exc).strip()})") from exc
        return None if row is None else row[0]

    def try_acquire(self) -> bool:
        """Take the lock if no other session holds it; True if this daemon holds it now."""
        if self.held:
            return self.check()
        self.held = bool(self._run("taking the leader lock", f"SELECT pg_try_advisory_lock({_KEY})"))
        return self.held

    def check(self) -> bool:
        """True while this connection answers and still holds the lock (False after it broke)."""
        if not self.held or self._conn is None:
            return False
        found = self._run(
            "checking the leader lock",
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            f" AND pid = pg_backend_pid() AND classid = {CLASS_ID}"
            " AND objid::bigint = (hashtext(current_schema())::bigint & 4294967295) AND objsubid = 2",
        )
        self.held = bool(found)
        return self.held

    def holder(self) -> str | None:
        """The ``application_name`` of the session holding the lock (``pulse-leader:<node>``), if any."""
        return self._run(
            "reading the leader lock",
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            f" WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {CLASS_ID}"
            " AND l.objid::bigint = (hashtext(current_schema())::bigint & 4294967295)"
            " AND l.objsubid = 2 AND a.datname = current_database() LIMIT 1",
        )

    def _drop(self) -> None:
        self.held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        """Release the lock (at once, if the server answers) and end its connection (the server
        drops session locks with it, a moment later)."""
        if self.held and self._conn is not None and not self._conn.closed:
            with contextlib.suppress(StorageUnavailable):
                self._run("releasing the leader lock", f"SELECT pg_advisory_unlock({_KEY})")
        self._drop()
        self._guard.close()


class SqliteFileLock:
    """An exclusive ``flock`` on ``<database>.leader``; the file names its holder."""

    kind = "sqlite"

    def __init__(self, db_path: Path, node: str) -> None:
        self.path = db_path.with_name(db_path.name + ".leader")
        self.node = node
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{self.node} pid {os.getpid()}\n".encode())
        self._fd = fd
        return True

    def check(self) -> bool:
        return self._fd is not None

    def holder(self) -> str | None:
        try:
            return self.path.read_text().strip() or None
        except OSError:
            return None

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock


class AlwaysLeader:
    """An in-memory SQLite database: nothing else can open it."""

    kind = "memory"
    held = True

    def try_acquire(self) -> bool:
        return True

    def check(self) -> bool:
        return True

    def holder(self) -> str | None:
        return None

    def close(self) -> None:
        pass


def leader_lock(
    url: str, node: str, db: DatabaseSettings | None = None, lost_after_s: int = 15
) -> LeaderLock:
    """The lock of the database at ``url`` for the daemon named ``node``."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = sa.make_url(url).database
        if not path or path == ":memory:":
            return AlwaysLeader()
        return SqliteFileLock(Path(path), node)
    return PgAdvisoryLock(url, node, db, lost_after_s)
