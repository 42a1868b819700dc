"""Users, teams and roles as an admin changes them, each change audited in its own transaction.

Used by the admin view (through ``core.seam.admin``, which checks ``manage_users`` first) and by
``pulse users``. Input is checked field by field (:class:`~core.kernel.errors.FieldErrors` names
each bad field); a password is never returned except the one generated for the admin to pass on,
and never written to the log (the entry says only that it changed).

Rules beyond the fields: the last active admin cannot be disabled or demoted, and a signed-in
admin cannot disable or demote themselves (another admin can). A change of password, role, teams
or the disabled flag ends the user's sessions (``core.storage.repos.users``, same transaction).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from core.access import accounts
from core.access.policy import Role
from core.admin import audit
from core.admin.audit import Actor
from core.admin.masking import MASK
from core.kernel.errors import AuthError, FieldErrors
from core.kernel.records.users import UserRecord
from core.storage.repos.sessions import SignInLog
from core.storage.repos.users import UserRepo

MAX_NAME, MAX_EMAIL = 200, 320


@dataclass(frozen=True)
class Created:
    user: UserRecord
    password: str | None = None  # set only when generated: show it once


def _clock_ms() -> int:
    return int(time.time() * 1000)


def check_new_user(
    username: str, role: str, teams: Iterable[str], display_name: str, email: str, password: str | None
) -> tuple[str, Role, tuple[str, ...]]:
    """The normalised username, role and teams, or FieldErrors naming every bad field."""
    errors: dict[str, str] = {}
    name, parsed_role = "", Role.VIEWER
    parsed_teams: tuple[str, ...] = ()
    if not username.strip():
        errors["username"] = "enter a username"
    else:
        try:
            name = accounts.normalise_username(username)
        except AuthError as exc:
            errors["username"] = str(exc)
    try:
        parsed_role = Role.parse(role)
    except AuthError as exc:
        errors["role"] = str(exc) if role.strip() else "choose a role"
    try:
        parsed_teams = accounts.normalise_teams(teams)
    except AuthError as exc:
        errors["teams"] = str(exc)
    if password is not None:
        try:
            accounts.check_password(password)
        except AuthError as exc:
            errors["password"] = str(exc)
    if len(display_name) > MAX_NAME:
        errors["display_name"] = f"display name too long: at most {MAX_NAME} characters"
    if email and ("@" not in email or len(email) > MAX_EMAIL or any(c.isspace() for c in email)):
        errors["email"] = f"invalid email {email!r}: use name@domain (at most {MAX_EMAIL} characters)"
    if errors:
        raise FieldErrors(errors)
    return name, parsed_role, parsed_teams


class UserAdmin:
    def __init__(
        self,
        repo: UserRepo,
        actor: Actor,
        now_ms: Callable[[], int] = _clock_ms,
        rounds: int = accounts.DEFAULT_ROUNDS,
    ) -> None:
        self.repo = repo
        self.actor = actor
        self.now_ms = now_ms
        self.rounds = rounds

    # -- reads -------------------------------------------------------------------------------------
    def users(self) -> list[UserRecord]:
        return self.repo.all()

    def last_sign_ins(self) -> dict[str, int]:
        return SignInLog(self.repo.engine).last_sign_ins()

    def get(self, username: str) -> UserRecord:
        try:
            name = accounts.normalise_username(username)
        except AuthError as exc:
            raise FieldErrors({"username": str(exc)}) from None
        user = self.repo.get(name)
        if user is None:
            raise FieldErrors({"username": f"no user {name!r}; see `pulse users list`"})
        return user

    # -- changes -----------------------------------------------------------------------------------
    def create(
        self,
        username: str,
        role: str,
        teams: Iterable[str] = (),
        display_name: str = "",
        email: str = "",
        password: str | None = None,
    ) -> Created:
        """A new user; with no ``password`` one is generated and returned (show it once)."""
        name, parsed_role, parsed_teams = check_new_user(username, role, teams, display_name, email, password)
        if self.repo.get(name) is not None:
            raise FieldErrors(
                {"username": f"user {name!r} exists; use `pulse users reset-password` or `update`"}
            )
        generated = accounts.generate_password() if password is None else None
        values: dict[str, Any] = {
            "username": name,
            "display_name": display_name.strip(),
            "email": email.strip(),
            "role": parsed_role.value,
            "teams": list(parsed_teams),
            "disabled": False,
        }
        how = "generated" if generated else "set by the admin"
        note = (
            f"created: role {parsed_role.value}, teams {','.join(parsed_teams) or '(none)'}, password {how}"
        )
        added = self.repo.add(
            username=name,
            password_hash=accounts.hash_password(password or generated or "", self.rounds),
            role=parsed_role.value,
            teams=parsed_teams,
            display_name=display_name.strip(),
            email=email.strip(),
            now_ms=self.now_ms(),
            audit=audit.entry(self.actor, "user.create", name, self.now_ms(), None, values, note),
        )
        if added is None:
            raise FieldErrors(
                {"username": f"user {name!r} exists; use `pulse users reset-password` or `update`"}
            )
        return Created(added, generated)

    def set_disabled(self, username: str, disabled: bool) -> UserRecord:
        user = self.get(username)
        if disabled:
            self._not_self(user, "disable")
            self._keep_an_admin(user)
        if user.disabled == disabled:
            return user
        after = replace(user, disabled=disabled)
        verb = "disable" if disabled else "enable"
        note = "disabled; sessions ended" if disabled else "enabled"
        self.repo.set_disabled(user.username, disabled, audit=self._entry(f"user.{verb}", user, after, note))
        return self.get(user.username)

    def reset_password(self, username: str, password: str | None = None) -> str | None:
        """Set ``password`` (checked) or a generated one (returned, to show once); sessions end."""
        user = self.get(username)
        if password is not None:
            try:
                accounts.check_password(password)
            except AuthError as exc:
                raise FieldErrors({"password": str(exc)}) from None
        generated = accounts.generate_password() if password is None else None
        how = "generated" if generated else "set by the admin"
        entry = audit.entry(
            self.actor,
            "user.reset_password",
            user.username,
            self.now_ms(),
            {"password": MASK},
            {"password": MASK},
            f"password reset ({how}); sessions ended",
        )
        self.repo.set_password(
            user.username, accounts.hash_password(password or generated or "", self.rounds), audit=entry
        )
        return generated

    def set_role(self, username: str, role: str) -> UserRecord:
        user = self.get(username)
        try:
            parsed = Role.parse(role)
        except AuthError as exc:
            raise FieldErrors({"role": str(exc)}) from None
        if parsed.value == user.role:
            return user
        if parsed is not Role.ADMIN:
            self._not_self(user, "demote")
            self._keep_an_admin(user)
        after = replace(user, role=parsed.value)
        self.repo.set_role(user.username, parsed.value, audit=self._entry("user.set_role", user, after))
        return self.get(user.username)

    def set_teams(self, username: str, teams: Iterable[str]) -> UserRecord:
        user = self.get(username)
        try:
            parsed = accounts.normalise_teams(teams)
        except AuthError as exc:
            raise FieldErrors({"teams": str(exc)}) from None
        if parsed == user.teams:
            return user
        after = replace(user, teams=parsed)
        self.repo.set_teams(user.username, parsed, audit=self._entry("user.set_teams", user, after))
        return self.get(user.username)

    def set_access(self, username: str, role: str | None, teams: Iterable[str] | None) -> UserRecord:
        """Change the role and/or the teams (None: keep) as one change with one audit entry."""
        user = self.get(username)
        errors: dict[str, str] = {}
        parsed_role, parsed_teams = user.role, user.teams
        try:
            parsed_role = user.role if role is None else Role.parse(role).value
        except AuthError as exc:
            errors["role"] = str(exc)
        try:
            parsed_teams = user.teams if teams is None else accounts.normalise_teams(teams)
        except AuthError as exc:
            errors["teams"] = str(exc)
        if errors:
            raise FieldErrors(errors)
        return self._change_access(user, parsed_role, parsed_teams, "user.set_access")

    def make_lead(self, username: str, team: str) -> UserRecord:
        """Make the user a team lead of ``team`` (added to their teams), as one change."""
        user = self.get(username)
        if not team.strip():
            raise FieldErrors({"teams": "name the team they lead"})
        try:
            teams = accounts.normalise_teams([*user.teams, team.strip()])
        except AuthError as exc:
            raise FieldErrors({"teams": str(exc)}) from None
        if user.role == Role.ADMIN.value:
            raise FieldErrors({"role": f"{user.username!r} is an admin, who leads every team already"})
        return self._change_access(user, Role.TEAM_LEAD.value, teams, "user.make_lead")

    def _change_access(self, user: UserRecord, role: str, teams: tuple[str, ...], action: str) -> UserRecord:
        if role == user.role and teams == user.teams:
            return user
        if role != user.role and role != Role.ADMIN.value:
            self._not_self(user, "demote")
            self._keep_an_admin(user)
        after = replace(user, role=role, teams=teams)
        self.repo.set_access(user.username, role, teams, audit=self._entry(action, user, after))
        return self.get(user.username)

    # -- rules ---------------------------------------------------------------------------------------
    def _entry(self, action: str, before: UserRecord, after: UserRecord, note: str = "") -> audit.AuditEntry:
        return audit.entry(
            self.actor,
            action,
            before.username,
            self.now_ms(),
            audit.user_values(before),
            audit.user_values(after),
            note,
        )

    def _not_self(self, user: UserRecord, verb: str) -> None:
        if self.actor.source == audit.UI and self.actor.name == user.username:
            raise FieldErrors({"username": f"you cannot {verb} your own account; another admin can"})

    def _keep_an_admin(self, user: UserRecord) -> None:
        """Refuse to disable or demote the last active admin (nobody could manage users any more)."""
        if user.role != Role.ADMIN.value or user.disabled:
            return
        admins = [u for u in self.repo.all() if u.role == Role.ADMIN.value and not u.disabled]
        if [u.username for u in admins] == [user.username]:
            raise FieldErrors(
                {"username": f"{user.username!r} is the last active admin; add another admin first"}
            )
