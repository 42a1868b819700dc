"""Sign-in as the pages need it, before anyone is signed in: the form's check, sessions, the first admin.

``pages/_auth.py`` is the only Streamlit-facing user of this object: it hands over what was
typed and who the client is, and writes the token it gets back into the cookie. The rules are in
``core.access`` (passwords in ``accounts``, sessions in ``sessions``, the throttle in ``throttle``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from core.access import accounts
from core.access.oidc import identity_of
from core.access.policy import Principal
from core.access.sessions import Live, Sessions
from core.access.throttle import Outcome, Throttle, failure_message
from core.kernel.errors import AuthError, PulseError
from core.kernel.records.users import SessionRecord, UserRecord
from core.kernel.settings import Settings
from core.storage.repos.sessions import SessionRepo, SignInLog
from core.storage.repos.users import UserRepo

SSO_ONLY = "!sso"  # the password hash of an account made by single sign-on: no password matches it


@dataclass(frozen=True)
class Attempt:
    """What one press of "Sign in" came to: a live session and its user, or a wait and the message."""

    live: Live | None = None
    principal: Principal | None = None
    wait_s: int = 0

    @property
    def message(self) -> str:
        return failure_message(self.wait_s)


@dataclass(frozen=True)
class Signed:
    """A signed-in session on this run: the session (with a new token when rotated) and its user."""

    live: Live
    principal: Principal


def as_typed(text: str) -> str:
    """The username as the throttle and the log know it: normalised, or as typed when invalid."""
    try:
        return accounts.normalise_username(text)
    except AuthError:
        return text.strip().lower()[:64]


class SignIn:
    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings.auth
        self.clock = clock
        self._users = UserRepo(engine)
        self.sessions = Sessions(SessionRepo(engine), settings.auth, clock)
        self.throttle = Throttle(SignInLog(engine), settings.auth, clock)

    def first_run(self) -> None:
        """The first admin when there is no user, its password printed on the terminal (never in
        the browser); sessions past their expiry are removed."""
        message = accounts.bootstrap_admin(self._users).message()
        if message:
            print(message, flush=True)
        self.sessions.purge()

    def attempt(self, username: str, password: str, client: str) -> Attempt:
        """Check a sign-in: throttled first (no password check), then the password (a check of the
        same cost for unknown and disabled users); every attempt is logged."""
        name = as_typed(username)
        user = self._users.get(name) if name else None
        known = user is not None
        wait = self.throttle.wait_s(name, client)
        if wait:
            self.throttle.record(name, client, Outcome.THROTTLED, known=known)
            return Attempt(wait_s=wait)
        principal = self._check(user, password)
        if principal is None:
            self.throttle.record(name, client, Outcome.WRONG, known=known)
            return Attempt(wait_s=self.throttle.wait_s(name, client))
        live = self.sessions.start(principal.username, client)
        if live is None:  # removed in the meantime
            self.throttle.record(name, client, Outcome.WRONG, known=False)
            return Attempt(wait_s=self.throttle.wait_s(name, client))
        self.throttle.record(name, client, Outcome.OK, known=True)
        return Attempt(live, principal)

    @staticmethod
    def _check(user: UserRecord | None, password: str) -> Principal | None:
        if user is None:
            accounts.dummy_check()  # as slow as a real check
            return None
        if not accounts.verify_password(password, user.password_hash) or user.disabled:
            return None
        try:
            return Principal.of(user)
        except PulseError:  # a role the code does not know: no access
            return None

    def single_sign_on(self, claims: Mapping[str, Any], client: str) -> Attempt:
        """A user the identity provider vouches for (``st.user``'s claims): their Pulse account is
        created, or its role and teams brought in line with their groups, and a session started.
        AuthError when the claims give no Pulse user or role, or the account is disabled in Pulse."""
        ident = identity_of(claims, self.settings.oidc)
        user = self._users.get(ident.username)
        if user is None:
            user = self._users.add(
                username=ident.username,
                password_hash=SSO_ONLY,  # never matches a password: this user signs in through the provider
                role=ident.role.value,
                now_ms=int(self.clock() * 1000),
                teams=ident.teams,
                display_name=ident.display_name,
                email=ident.email,
            )
        elif user.password_hash != SSO_ONLY:  # never let a provider's name take over a local account
            self.throttle.record(ident.username, client, Outcome.WRONG, known=True)
            raise AuthError(
                f"{ident.username!r} is a Pulse account with a password: sign in with it, or ask an admin "
                "to remove it so that single sign-on can create its own"
            )
        elif user.disabled:
            self.throttle.record(ident.username, client, Outcome.WRONG, known=True)
            raise AuthError(f"the Pulse account {ident.username!r} is disabled; ask an admin")
        else:
            if user.role != ident.role.value:
                self._users.set_role(ident.username, ident.role.value)
            if tuple(user.teams) != ident.teams:
                self._users.set_teams(ident.username, ident.teams)
        live = self.sessions.start(ident.username, client)
        principal = self.principal_of(ident.username)
        if live is None or principal is None:
            raise AuthError(f"the Pulse account {ident.username!r} could not be signed in; try again")
        self.throttle.record(ident.username, client, Outcome.OK, known=True)
        return Attempt(live, principal)

    def principal_of(self, username: str) -> Principal | None:
        """Who ``username`` is now, or None when the account is gone, disabled or has an unknown role."""
        user = self._users.get(username)
        if user is None or user.disabled:
            return None
        try:
            return Principal.of(user)
        except PulseError:
            return None

    def _signed(self, live: Live | None) -> Signed | None:
        if live is None:
            return None
        principal = self.principal_of(live.session.username)
        if principal is None:
            self.sessions.end(live.session.id)
            return None
        return Signed(live, principal)

    def resume(self, session_id: int) -> Signed | None:
        """On every run of a signed-in browser session: still valid? (rotated when due)."""
        return self._signed(self.sessions.check(session_id))

    def restore(self, token: str) -> Signed | None:
        """A cookie's token from a new browser session (reload, new tab)."""
        return self._signed(self.sessions.restore(token))

    def holder(self, token: str) -> Principal | None:
        """Who a cookie's token signs in, for a request outside a script run (a ``/media/``
        download): the same session and user checks as a page run, but nothing is rotated, touched
        or deleted. None when the session ended or expired, or its user is gone or disabled."""
        found = self.sessions.peek(token)
        return None if found is None else self.principal_of(found.username)

    def sign_out(self, session_id: int) -> None:
        self.sessions.end(session_id)

    def cookie_max_age_s(self, session: SessionRecord) -> int:
        return self.sessions.cookie_max_age_s(session)
