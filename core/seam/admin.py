"""Users, teams, roles and the audit log as an admin sees and changes them.

Every method, reads included, requires ``manage_users`` (admins only) whatever the page showed;
each change writes its audit entry, naming the signed-in admin, in the change's transaction
(``core.admin.users``). A password is returned only when generated, to be shown once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import polars as pl

from core.access.policy import Action, Role, team_scope
from core.admin import audit
from core.admin.users import Created, UserAdmin
from core.kernel.errors import PulseError
from core.kernel.records.audit import AuditQuery
from core.kernel.records.users import UserRecord
from core.storage.repos.audit import AuditRepo
from core.storage.repos.users import UserRepo
from core.storage.tsdb import Store

if TYPE_CHECKING:
    from core.seam.console import Console

USER_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "username": pl.Utf8,
    "name": pl.Utf8,
    "email": pl.Utf8,
    "role": pl.Utf8,
    "teams": pl.Utf8,
    "status": pl.Utf8,
    "last_sign_in": pl.Int64,
    "created": pl.Int64,
}
TEAM_METRIC = "mcp_server_up"  # the teams of the fleet: the team label of its MCP servers


def _teams_text(user: UserRecord) -> str:
    from core.access.policy import Principal

    try:
        scope = team_scope(Principal.of(user))
    except PulseError:
        return ",".join(user.teams)
    return "(all)" if scope is None else ",".join(sorted(scope)) or "(none)"


class Admin:
    def __init__(self, console: Console, store: Store) -> None:
        self._c = console
        self._store = store

    def _users(self) -> UserAdmin:
        self._c.require(Action.MANAGE_USERS)
        return UserAdmin(UserRepo(self._store.engine), self._c.actor, self._c.now_ms)

    # -- reads ---------------------------------------------------------------------------------------
    @staticmethod
    def roles() -> list[str]:
        return [r.value for r in Role]

    def users(self) -> pl.DataFrame:
        """One row per user: role, teams, status, last sign-in (ms, null when never) and creation."""
        svc = self._users()
        last = svc.last_sign_ins()
        rows = [
            (
                u.username,
                u.display_name,
                u.email,
                u.role,
                _teams_text(u),
                "disabled" if u.disabled else "active",
                last.get(u.username),
                u.created_ms,
            )
            for u in svc.users()
        ]
        df = pl.DataFrame(rows, schema=USER_SCHEMA, orient="row")
        utc = pl.Datetime("ms", "UTC")
        return df.with_columns(pl.col("last_sign_in").cast(utc), pl.col("created").cast(utc))

    def user(self, username: str) -> UserRecord:
        return self._users().get(username)

    def known_teams(self) -> list[str]:
        """Teams of users and of the fleet's MCP servers, for the membership picker."""
        found = {t for u in self._users().users() for t in u.teams}
        try:
            labels = self._store.series(TEAM_METRIC)["labels"].to_list()
        except PulseError:
            labels = []
        found |= {str(lb["team"]) for lb in labels if lb.get("team")}
        return sorted(found)

    # -- changes -------------------------------------------------------------------------------------
    def create_user(
        self,
        username: str,
        role: str,
        teams: Iterable[str] = (),
        display_name: str = "",
        email: str = "",
        password: str | None = None,
    ) -> Created:
        return self._users().create(username, role, teams, display_name, email, password)

    def set_disabled(self, username: str, disabled: bool) -> UserRecord:
        """Disable (ending every session of theirs) or enable a user."""
        return self._users().set_disabled(username, disabled)

    def reset_password(self, username: str, password: str | None = None) -> str | None:
        return self._users().reset_password(username, password)

    def set_access(self, username: str, role: str | None, teams: Iterable[str] | None) -> UserRecord:
        return self._users().set_access(username, role, teams)

    def make_lead(self, username: str, team: str) -> UserRecord:
        return self._users().make_lead(username, team)

    # -- the audit log -------------------------------------------------------------------------------
    def audit(self, query: AuditQuery | None = None) -> pl.DataFrame:
        """Entries matching ``query``, newest first (see ``core.admin.audit.frame``)."""
        self._c.require(Action.MANAGE_USERS)
        return audit.read(AuditRepo(self._store.engine), query or AuditQuery())

    def audit_choices(self, column: str) -> list[str]:
        """The actors, actions or object kinds in the log so far."""
        self._c.require(Action.MANAGE_USERS)
        return AuditRepo(self._store.engine).distinct(column)
