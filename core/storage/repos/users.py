"""Users of the dashboard: accounts, password hashes, roles and team memberships.

Every change of a password, the disabled flag, the role or the teams ends the user's sessions in
the same transaction (``core.storage.repos.sessions``), so no caller can forget it. A change given
an ``audit`` entry writes it in that transaction too (``core.storage.repos.audit``), only when the
change was made.

All SQL about users lives here (SQLAlchemy Core). Rules (which roles exist, what they may see,
how sign-ins are throttled) live in :mod:`core.access.policy`; this module stores what it is told and
answers ``None`` or ``False`` for a user that does not exist, so callers phrase the error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.kernel.records.audit import AuditEntry
from core.kernel.records.users import UserRecord
from core.storage.engine import storage_errors
from core.storage.repos.audit import write_entry
from core.storage.repos.sessions import end_sessions_of
from core.storage.schema import user_teams, users


def _teams_of(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    if not ids:
        return {}
    q = sa.select(user_teams.c.user_id, user_teams.c.team).where(user_teams.c.user_id.in_(ids))
    found: dict[int, list[str]] = {}
    for uid, team in conn.execute(q.order_by(user_teams.c.team)):
        found.setdefault(uid, []).append(team)
    return {uid: tuple(teams) for uid, teams in found.items()}


def _records(conn: Connection, where: sa.ColumnElement[bool] | None = None) -> list[UserRecord]:
    q = sa.select(*users.c).order_by(users.c.username)
    if where is not None:
        q = q.where(where)
    rows = conn.execute(q).mappings().all()
    teams = _teams_of(conn, [r["id"] for r in rows])
    return [UserRecord(**dict(r), teams=teams.get(r["id"], ())) for r in rows]


def _write_teams(conn: Connection, user_id: int, teams: Iterable[str]) -> None:
    conn.execute(sa.delete(user_teams).where(user_teams.c.user_id == user_id))
    rows = [{"user_id": user_id, "team": t} for t in sorted(set(teams))]
    if rows:
        conn.execute(sa.insert(user_teams), rows)


class UserRepo:
    """Reads and writes of the ``users`` and ``user_teams`` tables of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def count(self) -> int:
        with storage_errors("counting users"), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())

    def get(self, username: str) -> UserRecord | None:
        with storage_errors("reading a user"), self.engine.connect() as conn:
            found = _records(conn, users.c.username == username)
        return found[0] if found else None

    def all(self) -> list[UserRecord]:
        with storage_errors("listing users"), self.engine.connect() as conn:
            return _records(conn)

    def add(
        self,
        *,
        username: str,
        password_hash: str,
        role: str,
        now_ms: int,
        teams: Iterable[str] = (),
        display_name: str = "",
        email: str = "",
        audit: AuditEntry | None = None,
    ) -> UserRecord | None:
        """Create a user; None when the username is taken."""
        row = {
            "username": username,
            "display_name": display_name,
            "email": email,
            "password_hash": password_hash,
            "role": role,
            "disabled": False,
            "failed_attempts": 0,
            "locked_until_ms": 0,
            "created_ms": now_ms,
        }
        with storage_errors("adding a user"):
            try:
                with self.engine.begin() as conn:
                    user_id = conn.execute(sa.insert(users).values(row).returning(users.c.id)).scalar_one()
                    _write_teams(conn, user_id, teams)
                    if audit is not None:
                        write_entry(conn, audit)
            except IntegrityError:
                return None
        return self.get(username)

    def _update(self, username: str, what: str, audit: AuditEntry | None, **values: object) -> bool:
        """Change the user's row and end every session of theirs (and write ``audit``), in one transaction."""
        with storage_errors(what), self.engine.begin() as conn:
            done = conn.execute(sa.update(users).where(users.c.username == username).values(**values))
            if done.rowcount:
                end_sessions_of(conn, username)
                if audit is not None:
                    write_entry(conn, audit)
            return bool(done.rowcount)

    def set_password(self, username: str, password_hash: str, audit: AuditEntry | None = None) -> bool:
        """Replace the password hash and end the user's sessions; False when there is no such user."""
        return self._update(
            username,
            "changing a password",
            audit,
            password_hash=password_hash,
            failed_attempts=0,
            locked_until_ms=0,
        )

    def set_disabled(self, username: str, disabled: bool, audit: AuditEntry | None = None) -> bool:
        """Disable or enable the user and end their sessions."""
        return self._update(
            username, "disabling a user" if disabled else "enabling a user", audit, disabled=disabled
        )

    def set_role(self, username: str, role: str, audit: AuditEntry | None = None) -> bool:
        """Change the role and end the user's sessions (they sign in again with the new role)."""
        return self._update(username, "changing a role", audit, role=role)

    def set_teams(self, username: str, teams: Iterable[str], audit: AuditEntry | None = None) -> bool:
        """Replace the teams; when they changed, end the user's sessions."""
        with storage_errors("changing teams"), self.engine.begin() as conn:
            user_id = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar()
            if user_id is None:
                return False
            before, after = _teams_of(conn, [user_id]).get(user_id, ()), tuple(sorted(set(teams)))
            _write_teams(conn, user_id, after)
            if before != after:
                end_sessions_of(conn, username)
                if audit is not None:
                    write_entry(conn, audit)
            return True

    def set_access(
        self, username: str, role: str, teams: Iterable[str], audit: AuditEntry | None = None
    ) -> bool:
        """Set the role and the teams together and end the user's sessions, in one transaction."""
        with storage_errors("changing a role and teams"), self.engine.begin() as conn:
            user_id = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar()
            if user_id is None:
                return False
            conn.execute(sa.update(users).where(users.c.id == user_id).values(role=role))
            _write_teams(conn, user_id, teams)
            end_sessions_of(conn, username)
            if audit is not None:
                write_entry(conn, audit)
            return True
