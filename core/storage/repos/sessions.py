"""Server-side sessions of the dashboard and the log of sign-in attempts. All their SQL is here.

A session row holds the sha256 of the random token the browser's cookie carries, never the token
itself; deleting the row ends the session whatever any browser still holds. Rules (lifetimes,
rotation, throttling) live in :mod:`core.access.sessions` and :mod:`core.access.throttle`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.kernel.records.users import FailureStats, SessionRecord
from core.storage.engine import storage_errors
from core.storage.schema import sessions, sign_in_attempts, users

_COLUMNS = (
    sessions.c.id,
    users.c.username,
    sessions.c.client,
    sessions.c.created_ms,
    sessions.c.last_seen_ms,
    sessions.c.renewed_ms,
)


def end_sessions_of(conn: Connection, username: str) -> int:
    """Delete every session of ``username`` inside the caller's transaction; returns how many."""
    ids = sa.select(users.c.id).where(users.c.username == username).scalar_subquery()
    return int(conn.execute(sa.delete(sessions).where(sessions.c.user_id == ids)).rowcount or 0)


class SessionRepo:
    """Reads and writes of the ``sessions`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _one(self, conn: Connection, where: sa.ColumnElement[bool]) -> SessionRecord | None:
        q = sa.select(*_COLUMNS).join(users, users.c.id == sessions.c.user_id).where(where)
        row = conn.execute(q).first()
        return None if row is None else SessionRecord(*row)

    def create(self, token_hash: str, username: str, client: str, now_ms: int) -> SessionRecord | None:
        """A new session of ``username``; None when there is no such user (or the hash is taken)."""
        with storage_errors("starting a session"):
            try:
                with self.engine.begin() as conn:
                    user_id = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar()
                    if user_id is None:
                        return None
                    row = {
                        "token_hash": token_hash,
                        "user_id": user_id,
                        "client": client[:200],
                        "created_ms": now_ms,
                        "last_seen_ms": now_ms,
                        "renewed_ms": now_ms,
                    }
                    new_id = conn.execute(
                        sa.insert(sessions).values(row).returning(sessions.c.id)
                    ).scalar_one()
                    return self._one(conn, sessions.c.id == new_id)
            except IntegrityError:
                return None

    def by_token_hash(self, token_hash: str) -> SessionRecord | None:
        with storage_errors("reading a session"), self.engine.connect() as conn:
            return self._one(conn, sessions.c.token_hash == token_hash)

    def get(self, session_id: int) -> SessionRecord | None:
        with storage_errors("reading a session"), self.engine.connect() as conn:
            return self._one(conn, sessions.c.id == session_id)

    def of_user(self, username: str) -> list[SessionRecord]:
        q = sa.select(*_COLUMNS).join(users, users.c.id == sessions.c.user_id)
        with storage_errors("listing sessions"), self.engine.connect() as conn:
            rows = conn.execute(q.where(users.c.username == username).order_by(sessions.c.id)).all()
        return [SessionRecord(*r) for r in rows]

    def touch(self, session_id: int, now_ms: int) -> bool:
        with storage_errors("using a session"), self.engine.begin() as conn:
            done = conn.execute(
                sa.update(sessions).where(sessions.c.id == session_id).values(last_seen_ms=now_ms)
            )
            return bool(done.rowcount)

    def rotate(self, session_id: int, token_hash: str, now_ms: int, renewed_ms: int) -> bool:
        """Replace the token of a live session (the old one stops working at once), provided it
        was last renewed at ``renewed_ms``: of two tabs renewing at once, one wins."""
        values = {"token_hash": token_hash, "renewed_ms": now_ms, "last_seen_ms": now_ms}
        c = sessions.c
        with storage_errors("renewing a session"), self.engine.begin() as conn:
            done = conn.execute(
                sa.update(sessions).where(c.id == session_id, c.renewed_ms == renewed_ms).values(**values)
            )
            return bool(done.rowcount)

    def delete(self, session_id: int) -> bool:
        with storage_errors("ending a session"), self.engine.begin() as conn:
            return bool(conn.execute(sa.delete(sessions).where(sessions.c.id == session_id)).rowcount)

    def delete_user(self, username: str) -> int:
        with storage_errors("ending sessions"), self.engine.begin() as conn:
            return end_sessions_of(conn, username)

    def purge(self, created_before_ms: int, seen_before_ms: int) -> int:
        """Delete sessions past their absolute or idle expiry; returns how many."""
        old = (sessions.c.created_ms < created_before_ms) | (sessions.c.last_seen_ms < seen_before_ms)
        with storage_errors("purging sessions"), self.engine.begin() as conn:
            return int(conn.execute(sa.delete(sessions).where(old)).rowcount or 0)


class SignInLog:
    """The ``sign_in_attempts`` table: every attempt (ok, wrong, throttled), for the throttle and audit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, *, at_ms: int, username: str, known: bool, client: str, outcome: str) -> None:
        row = {
            "at_ms": at_ms,
            "username": username[:64],
            "known": known,
            "client": client[:200],
            "outcome": outcome,
        }
        with storage_errors("recording a sign-in"), self.engine.begin() as conn:
            conn.execute(sa.insert(sign_in_attempts).values(row))

    def failures(
        self,
        since_ms: int,
        *,
        username: str | None = None,
        client: str | None = None,
        reset_on_ok: bool = True,
    ) -> FailureStats:
        """Wrong passwords matching ``username`` and/or ``client`` after ``since_ms`` and, when
        ``reset_on_ok``, after the last successful sign-in matching the same filter."""
        t = sign_in_attempts.c
        match: list[sa.ColumnElement[bool]] = [t.at_ms > since_ms]
        if username is not None:
            match.append(t.username == username[:64])
        if client is not None:
            match.append(t.client == client[:200])
        with storage_errors("reading sign-in attempts"), self.engine.connect() as conn:
            start = since_ms
            if reset_on_ok:
                ok = conn.execute(sa.select(sa.func.max(t.at_ms)).where(*match, t.outcome == "ok")).scalar()
                start = max(start, int(ok or 0))
            q = sa.select(sa.func.count(), sa.func.max(t.at_ms)).where(
                *match[1:], t.at_ms > start, t.outcome == "wrong"
            )
            count, last = conn.execute(q).one()
        return FailureStats(int(count or 0), int(last or 0))

    def last_sign_ins(self) -> dict[str, int]:
        """username -> the time of their last successful sign-in (users who never signed in: absent)."""
        t = sign_in_attempts.c
        q = sa.select(t.username, sa.func.max(t.at_ms)).where(t.outcome == "ok").group_by(t.username)
        with storage_errors("reading sign-in attempts"), self.engine.connect() as conn:
            return {str(name): int(at) for name, at in conn.execute(q)}

    def recent(self, limit: int = 100) -> list[tuple[int, str, bool, str, str]]:
        """The latest attempts, newest first: (at_ms, username, known, client, outcome)."""
        t = sign_in_attempts.c
        q = sa.select(t.at_ms, t.username, t.known, t.client, t.outcome).order_by(t.at_ms.desc(), t.id.desc())
        with storage_errors("reading sign-in attempts"), self.engine.connect() as conn:
            return [
                (int(r[0]), str(r[1]), bool(r[2]), str(r[3]), str(r[4])) for r in conn.execute(q.limit(limit))
            ]
