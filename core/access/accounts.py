"""Accounts: usernames, passwords (bcrypt), sign-in lockout, the first admin and the cookie key.

The policy (roles, pages, teams, actions) is in :mod:`core.access.policy`, which re-exports these names.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from core.access.policy import Role
from core.kernel.errors import AuthError
from core.kernel.records.users import LockState, UserRecord
from core.kernel.settings import AuthSettings
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


# -- lockout ----------------------------------------------------------------------------------------
def after_failure(state: LockState, now_ms: int, settings: AuthSettings) -> LockState:
    """One more failed sign-in: the count grows; at ``lockout_attempts`` the account locks and the
    count starts again, so after the lock the user has the full number of tries again."""
    failed, locked_until = state
    if locked_until > now_ms:  # already locked: attempts during a lock are not counted
        return state
    failed += 1
    if failed >= settings.lockout_attempts:
        return 0, now_ms + settings.lockout_minutes * 60_000
    return failed, locked_until


class LoginGuard:
    """Counts failed sign-ins per user in the database and locks accounts; the clock is injectable."""

    def __init__(self, repo: UserRepo, settings: AuthSettings, clock: Callable[[], float] = time.time):
        self.repo = repo
        self.settings = settings
        self.clock = clock

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def locked_for_s(self, user: UserRecord) -> float:
        """Seconds the account stays locked (0: not locked)."""
        return max(0.0, (user.locked_until_ms - self.now_ms()) / 1000)

    def attempts_seen(self, user: UserRecord) -> int:
        """Failed attempts as a sign-in widget with a ``max_attempts`` limit should see them:
        the limit itself while locked, so the widget refuses before checking the password."""
        return self.settings.lockout_attempts if self.locked_for_s(user) else user.failed_attempts

    def record_failure(self, username: str) -> float:
        """Count a failed sign-in; returns the seconds the account is now locked for (0: not locked)."""
        now = self.now_ms()
        new = self.repo.update_lock(username, lambda s: after_failure(s, now, self.settings))
        return 0.0 if new is None else max(0.0, (new[1] - now) / 1000)

    def record_success(self, username: str) -> None:
        self.repo.update_lock(username, lambda s: (0, 0))


# a valid cost-12 hash of a random string nobody knows: checking it takes as long as a real check
_DUMMY_HASH = "$2b$12$XO4O3jdIwHqx0vJFrd0Yau/5cRLPKYmY64fh/h6d6ZpXdlVR4qkZu"


def dummy_check() -> None:
    """Spend the time of one password check, so an unknown username answers as slowly as a known one."""
    verify_password("-", _DUMMY_HASH)


def minutes(seconds: float) -> str:
    m = max(1, round(seconds / 60))
    return f"{m} minute" if m == 1 else f"{m} minutes"


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
    added = repo.add(
        username=ADMIN_USERNAME,
        password_hash=hash_password(password, rounds),
        role=Role.ADMIN.value,
        now_ms=int(clock() * 1000),
        display_name="Administrator",
    )
    if added is None:  # another process bootstrapped at the same moment
        return Bootstrap(created=False)
    return Bootstrap(created=True, password=None if given else password)


COOKIE_KEY_FILE = "cookie_key"


def cookie_key(data_dir: Path) -> str:
    """The key that signs sign-in cookies: ``data_dir/cookie_key``, created once with mode 0600.

    Kept out of git (``data/`` is ignored) and out of the database. Deleting the file signs
    everyone out on the next start.
    """
    path = Path(data_dir) / COOKIE_KEY_FILE
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{COOKIE_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
            try:
                os.link(tmp, path)  # atomic: a concurrent start keeps the first key
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        except OSError as exc:
            raise AuthError(f"cannot create the cookie key {path} ({exc}); fix setting 'data_dir'") from exc
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
        key = path.read_text().strip()
    except OSError as exc:
        raise AuthError(f"cannot read the cookie key {path} ({exc})") from exc
    if len(key) < 32:
        raise AuthError(f"the cookie key {path} is empty or too short; delete it and start again")
    return key
