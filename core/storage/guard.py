"""A client-side deadline on every PostgreSQL call.

``statement_timeout`` and ``lock_timeout`` bound a server that works; a server that accepts and
never answers (frozen by SIGSTOP, a hung host, a half-open network path) keeps the socket open and
acknowledges every packet, so neither they nor TCP keepalives end the wait: a thread would block
forever. :class:`IoGuard` arms a deadline when a connection is checked out and each time it
executes, commits or rolls back, and disarms it at check-in; a watchdog thread shuts down the
socket of a connection past its deadline, so the blocked call fails at once with a disconnect
(mapped to ``StorageUnavailable``) and the pool discards the connection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
TICK_S = 0.2


def _socket_fd(dbapi_conn: Any) -> int | None:
    pgconn = getattr(dbapi_conn, "pgconn", None)
    if pgconn is None:
        return None
    try:
        return int(pgconn.socket)
    except Exception:  # closed or not connected
        return None


def _cut(dbapi_conn: Any) -> bool:
    """Shut down the connection's socket so a call blocked on it returns with an error."""
    fd = _socket_fd(dbapi_conn)
    if fd is None:
        return False
    try:
        with socket.socket(fileno=os.dup(fd)) as s:
            s.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False
    return True


class IoGuard:
    """Deadlines for the connections of one engine, enforced by one watchdog thread."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._deadlines: dict[int, tuple[float, Any]] = {}  # id(dbapi conn) -> (deadline, conn)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.cut = 0  # connections cut since start

    # -- arming ---------------------------------------------------------------------------
    def arm(self, dbapi_conn: Any, seconds: float | None = None) -> None:
        deadline = time.monotonic() + (self.timeout_s if seconds is None else seconds)
        with self._lock:
            self._deadlines[id(dbapi_conn)] = (deadline, dbapi_conn)
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._watch, name="pulse-db-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, dbapi_conn: Any) -> None:
        with self._lock:
            self._deadlines.pop(id(dbapi_conn), None)

    def busy(self) -> int:
        """Connections in use right now."""
        with self._lock:
            return len(self._deadlines)

    def interrupt_all(self) -> int:
        """Cut every connection in use now (at shutdown, when the database does not answer)."""
        with self._lock:
            conns = [c for _, c in self._deadlines.values()]
        return sum(_cut(c) for c in conns)

    def close(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(TICK_S):
            now = time.monotonic()
            with self._lock:
                if not self._deadlines:  # idle: the thread ends; the next arm() starts another
                    self._thread = None
                    return
                late = [(k, c) for k, (d, c) in self._deadlines.items() if d <= now]
                for k, _ in late:
                    self._deadlines.pop(k, None)
            for _, conn in late:
                if _cut(conn):
                    self.cut += 1
                    log.warning(
                        "a database call did not return within %gs; its connection was closed", self.timeout_s
                    )

    # -- wiring -----------------------------------------------------------------------------
    def install(self, engine: Engine) -> None:
        """Arm and disarm on the engine's pool and connection events; ping on checkout."""

        def on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            self.arm(dbapi_conn)
            try:  # the pre-ping, under the deadline (SQLAlchemy's own pre_ping runs before this event)
                cur = dbapi_conn.cursor()
                try:
                    cur.execute("SELECT 1")
                finally:
                    cur.close()
            except Exception as exc:
                self.disarm(dbapi_conn)
                raise sa.exc.DisconnectionError(f"ping failed: {exc}") from exc

        def on_connect(dbapi_conn: Any, _record: Any) -> None:
            self.arm(dbapi_conn)  # disarmed at checkout's re-arm or check-in

        def on_checkin(dbapi_conn: Any, _record: Any) -> None:
            if dbapi_conn is not None:
                self.disarm(dbapi_conn)

        def on_reset(dbapi_conn: Any, _record: Any, _state: Any) -> None:
            self.arm(dbapi_conn)

        def on_execute(conn: sa.Connection, *_: Any) -> None:
            with contextlib.suppress(Exception):
                self.arm(conn.connection.dbapi_connection)

        def on_tx(conn: sa.Connection, *_: Any) -> None:
            with contextlib.suppress(Exception):
                self.arm(conn.connection.dbapi_connection)

        sa.event.listen(engine, "checkout", on_checkout)
        sa.event.listen(engine, "connect", on_connect)
        sa.event.listen(engine, "checkin", on_checkin)
        sa.event.listen(engine, "reset", on_reset)
        sa.event.listen(engine, "before_cursor_execute", on_execute)
        sa.event.listen(engine, "commit", on_tx)
        sa.event.listen(engine, "rollback", on_tx)
