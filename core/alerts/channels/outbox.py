"""Notifications waiting for a retry: plain data, one entry per channel, group and kind.

A newer notification for the same group replaces the waiting one (the receiver gets the group's
latest state once, as with Alertmanager), so a receiver that was down gets each group exactly
once when it is back. The in-memory :class:`Outbox` can be swapped for a persistent one with the
same methods; entries round-trip through :meth:`OutboxEntry.to_dict` / :meth:`OutboxEntry.from_dict`.
"""

from __future__ import annotations

import threading
from typing import Protocol

from core.kernel.records.notifications import Key, OutboxEntry


class OutboxStore(Protocol):
    def put(self, entry: OutboxEntry) -> OutboxEntry | None:
        """Store ``entry``; return the entry it replaced, if any."""
        ...

    def get(self, key: Key) -> OutboxEntry | None: ...

    def remove(self, key: Key) -> OutboxEntry | None: ...

    def due(self, now_ms: int) -> list[OutboxEntry]:
        """Entries whose next try is due, soonest first."""
        ...

    def entries(self) -> list[OutboxEntry]: ...

    def __len__(self) -> int: ...


class Outbox:
    """The in-memory :class:`OutboxStore`."""

    def __init__(self) -> None:
        self._entries: dict[Key, OutboxEntry] = {}
        self._lock = threading.Lock()

    def put(self, entry: OutboxEntry) -> OutboxEntry | None:
        with self._lock:
            old = self._entries.pop(entry.key, None)
            self._entries[entry.key] = entry
            return old if old is not entry else None

    def get(self, key: Key) -> OutboxEntry | None:
        with self._lock:
            return self._entries.get(key)

    def remove(self, key: Key) -> OutboxEntry | None:
        with self._lock:
            return self._entries.pop(key, None)

    def due(self, now_ms: int) -> list[OutboxEntry]:
        with self._lock:
            ready = [e for e in self._entries.values() if e.next_at_ms <= now_ms]
        return sorted(ready, key=lambda e: e.next_at_ms)

    def entries(self) -> list[OutboxEntry]:
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.first_at_ms)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
