"""Accounts: usernames, passwords (bcrypt) and the first admin.

Sessions are in :mod:`core.access.sessions`, the throttle of failed sign-ins in
:mod:`core.access.throttle`.

The policy (roles, pages, teams, actions) is in :mod:`core.access.policy`, which re-exports these names.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import bcrypt

from core.access.policy import Role
from core.kernel.errors import AuthError
from core.kernel.records.audit import AuditEntry
from core.storage.repos.users import UserRepo

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
TEAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}")
MIN_PASSWORD_CHARS, MAX_PASSWORD_BYTES = 8, 72  # bcrypt reads at most 72 bytes
DEFAULT_ROUNDS = 12  # about 0.3 s per hash here


def normalise_username(text: str) -> str:
    """Usernames are lower case (the sign-in form lower-cases what is typed)."""
    name = text.strip().lower()
    if not USERNAME.fullmatch(name):
        raise AuthError(
            f"invalid username {text!r}: use 1-64 lower-case letters, digits, '.', '_', '-' or '@', "
            "starting with a letter or digit"
        )
    return name


def normalise_teams(values: Iterable[str]) -> tuple[str, ...]:
    """Team names from repeated and comma-separated arguments, de-duplicated and sorted."""
    teams = {t.strip() for v in values for t in v.split(",") if t.strip()}
    for team in teams:
        if not TEAM.fullmatch(team):
            raise AuthError(
                f"invalid team {team!r}: use the value of the 'team' label (letters, digits, '.', '_', '-', ':', '/')"
            )
    return tuple(sorted(teams))


def check_password(password: str) -> None:
    """Refuse passwords the sign-in form could not reproduce or bcrypt would truncate."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AuthError(f"password too short: use at least {MIN_PASSWORD_CHARS} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise AuthError(f"password too long: bcrypt uses at most {MAX_PASSWORD_BYTES} bytes")
    if password != password.strip():
        raise AuthError("password starts or ends with white space, which the sign-in form drops")


def hash_password(password: str, rounds: int = DEFAULT_ROUNDS) -> str:
    check_password(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:  # a malformed hash, or a password bcrypt refuses (over 72 bytes)
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


# -- sign-in -----------------------------------------------------------------------------------------
# a valid cost-12 hash of a random string nobody knows: checking it takes as long as a real check
_DUMMY_HASH = "$2b$12$XO4O3jdIwHqx0vJFrd0Yau/5cRLPKYmY64fh/h6d6ZpXdlVR4qkZu"


def dummy_check() -> None:
    """Spend the time of one password check, so an unknown username answers as slowly as a known one."""
    verify_password("-", _DUMMY_HASH)


# -- first run ---------------------------------------------------------------------------------------
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD_ENV = "PULSE_ADMIN_PASSWORD"


@dataclass(frozen=True)
class Bootstrap:
    """What :func:`bootstrap_admin` did. ``password`` is set only when it generated one."""

    created: bool
    username: str = ADMIN_USERNAME
    password: str | None = None

    def message(self) -> str | None:
        """The one-time terminal message, or None when nothing was created."""
        if not self.created:
            return None
        if self.password is None:
            return (
                f"pulse: created user {self.username!r} (admin) with the password from ${ADMIN_PASSWORD_ENV}"
            )
        return (
            f"pulse: created user {self.username!r} (admin) with the password {self.password}\n"
            "pulse: it is shown only this once; change it with `pulse users reset-password admin`"
        )


def bootstrap_admin(
    repo: UserRepo,
    env: Mapping[str, str] = os.environ,
    clock: Callable[[], float] = time.time,
    rounds: int = DEFAULT_ROUNDS,
) -> Bootstrap:
    """Create the first admin when there are no users at all; never a second time.

    The password comes from ``$PULSE_ADMIN_PASSWORD`` or, when unset or empty, is generated and
    returned so the caller prints it once. There is no default password.
    """
    if repo.count() > 0:
        return Bootstrap(created=False)
    given = env.get(ADMIN_PASSWORD_ENV) or None
    if given is not None:
        try:
            check_password(given)
        except AuthError as exc:
            raise AuthError(f"${ADMIN_PASSWORD_ENV} is not usable: {exc}") from None
    password = given or generate_password()
    now_ms = int(clock() * 1000)
    values = {
        "username": ADMIN_USERNAME,
        "display_name": "Administrator",
        "email": "",
        "role": Role.ADMIN.value,
        "teams": [],
        "disabled": False,
    }
    how = f"from ${ADMIN_PASSWORD_ENV}" if given else "generated"
    entry = AuditEntry(
        now_ms, "pulse", "system", "user.create", "user", ADMIN_USERNAME, None, values,
        note=f"the first admin, created at the first start; password {how}",
    )  # fmt: skip
    added = repo.add(
        username=ADMIN_USERNAME,
        password_hash=hash_password(password, rounds),
        role=Role.ADMIN.value,
        now_ms=now_ms,
        display_name="Administrator",
        audit=entry,
    )
    if added is None:  # another process bootstrapped at the same moment
        return Bootstrap(created=False)
    return Bootstrap(created=True, password=None if given else password)
