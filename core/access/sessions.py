"""Server-side sessions: random tokens, their hashes, idle and absolute expiry, rotation, sign-out.

No Streamlit here (``pages/_auth.py`` adapts this to the browser). The browser's cookie carries
only a random token (256 bits, no claims); the database keeps its sha256, so a copy of the
database does not hold usable tokens. A session ends when its row is deleted: on sign-out, on
expiry, and for every session of a user whose password, disabled flag, role or teams change
(``core.storage.repos.users`` does that in the same transaction). See docs/security.md.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.kernel.records.users import SessionRecord
from core.kernel.settings import AuthSettings
from core.storage.repos.sessions import SessionRepo

TOKEN_BYTES = 32
TOUCH_EVERY_MS = 60_000  # last use is written at most once a minute per session


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Live:
    """A session that may go on; ``token`` is set when it was just rotated (write it to the cookie)."""

    session: SessionRecord
    token: str | None = None


class Sessions:
    """Starts, checks, renews and ends sessions; the clock is injectable."""

    def __init__(
        self, repo: SessionRepo, settings: AuthSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.clock = clock

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @property
    def idle_ms(self) -> int:
        return self.settings.session_idle_minutes * 60_000

    @property
    def absolute_ms(self) -> int:
        return int(self.settings.session_absolute_hours * 3_600_000)

    @property
    def renew_ms(self) -> int:
        """How often the token is replaced while in use: at most half the idle time, so the
        cookie (which lives for the idle time) is always renewed before it runs out."""
        return min(self.settings.session_renew_minutes * 60_000, self.idle_ms // 2)

    def expired(self, s: SessionRecord, now_ms: int) -> bool:
        return now_ms - s.created_ms >= self.absolute_ms or now_ms - s.last_seen_ms >= self.idle_ms

    def cookie_max_age_s(self, s: SessionRecord) -> int:
        """The cookie's lifetime when written now: the idle time, never past the absolute expiry."""
        left = s.created_ms + self.absolute_ms - self.now_ms()
        return max(0, min(self.idle_ms, left) // 1000)

    def start(self, username: str, client: str) -> Live | None:
        """A new session after a successful sign-in; None when the user is gone."""
        token = new_token()
        made = self.repo.create(token_hash(token), username, client, self.now_ms())
        return None if made is None else Live(made, token)

    def _by_token(self, token: str) -> SessionRecord | None:
        if not token or len(token) > 200:
            return None
        return self.repo.by_token_hash(token_hash(token))

    def restore(self, token: str) -> Live | None:
        """The session a cookie's token belongs to (a new browser tab or a reload), or None."""
        found = self._by_token(token)
        return None if found is None else self.check(found.id)

    def peek(self, token: str) -> SessionRecord | None:
        """The live session a cookie's token belongs to, or None, changing nothing: no rotation
        (the browser would never get the new token) and no touch. For requests outside a script
        run, such as a file download under ``/media/``."""
        found = self._by_token(token)
        return None if found is None or self.expired(found, self.now_ms()) else found

    def check(self, session_id: int) -> Live | None:
        """On every run of a signed-in session: None when it ended or expired (its row is then
        deleted), else the session, rotated when due."""
        found = self.repo.get(session_id)
        if found is None:
            return None
        now = self.now_ms()
        if self.expired(found, now):
            self.repo.delete(found.id)
            return None
        if now - found.renewed_ms >= self.renew_ms:
            token = new_token()
            if not self.repo.rotate(found.id, token_hash(token), now, found.renewed_ms):
                again = self.repo.get(found.id)  # another tab renewed it a moment ago, or it ended
                return None if again is None else Live(again)
            return Live(self.repo.get(found.id) or found, token)
        if now - found.last_seen_ms >= TOUCH_EVERY_MS:
            self.repo.touch(found.id, now)
        return Live(found)

    def end(self, session_id: int) -> bool:
        """Sign-out: the row is deleted, so no copy of the cookie works any more."""
        return self.repo.delete(session_id)

    def end_all(self, username: str) -> int:
        return self.repo.delete_user(username)

    def purge(self) -> int:
        now = self.now_ms()
        return self.repo.purge(now - self.absolute_ms, now - self.idle_ms)
