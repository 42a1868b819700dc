"""Plain records of dashboard users (kept by ``core.storage.repos.users``)."""

from __future__ import annotations

from dataclasses import dataclass

LockState = tuple[int, int]  # (failed_attempts, locked_until_ms)


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    display_name: str
    email: str
    password_hash: str
    role: str
    disabled: bool
    failed_attempts: int
    locked_until_ms: int
    created_ms: int
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionRecord:
    """A signed-in session of the dashboard (kept by ``core.storage.repos.sessions``).

    The browser holds a random token; the database keeps only its sha256, never the token.
    """

    id: int
    username: str
    client: str
    created_ms: int
    last_seen_ms: int
    renewed_ms: int


@dataclass(frozen=True)
class FailureStats:
    """Failed sign-ins of one throttle key that still count: how many, and when the last was."""

    count: int = 0
    last_ms: int = 0
