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
