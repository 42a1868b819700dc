"""Sign-in as the pages need it, before anyone is signed in: accounts, failures, the first admin."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from core.access import accounts
from core.access.policy import Principal
from core.kernel.records.users import UserRecord
from core.kernel.settings import Settings
from core.storage.repos.users import UserRepo


class SignIn:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.settings = settings.auth
        self._data_dir = settings.data_dir
        self._repo = UserRepo(engine)
        self.guard = accounts.LoginGuard(self._repo, settings.auth)

    def first_run(self) -> str:
        """The first admin when there is no user (its password printed on the terminal, never in
        the browser) and the cookie key. Returns the key."""
        message = accounts.bootstrap_admin(self._repo).message()
        if message:
            print(message, flush=True)
        return accounts.cookie_key(Path(self._data_dir))

    def users(self) -> dict[str, UserRecord]:
        return {u.username: u for u in self._repo.all()}

    def principal_of(self, username: str) -> Principal | None:
        """Who ``username`` is now, or None when the account is gone or disabled."""
        user = self._repo.get(username)
        return None if user is None or user.disabled else Principal.of(user)

    def attempts_seen(self, user: UserRecord) -> int:
        return self.guard.attempts_seen(user)

    def record_failure(self, username: str) -> float:
        return self.guard.record_failure(username)

    def record_success(self, username: str) -> None:
        self.guard.record_success(username)

    def now_ms(self) -> int:
        return self.guard.now_ms()
