"""Notifications waiting for a retry: plain data, one entry per channel, group and kind.

A newer notification for the same group replaces the waiting one (the receiver gets the group's
latest state once, as with Alertmanager), so a receiver that was down gets each group exactly
once when it is back. The in-memory :class:`Outbox` can be swapped for a persistent one with the
same methods; entries round-trip through :meth:`OutboxEntry.to_dict` / :meth:`OutboxEntry.from_dict`.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from core.alerts.model import Alert, Notification

Key = tuple[str, str, str]  # channel, group key, "notify" | "ack"


@dataclass
class OutboxEntry:
    channel: str
    action: str  # trigger | resolve | acknowledge | resend
    notification: Notification
    first_at_ms: int
    next_at_ms: int
    attempts: int = 0
    last_error: str = ""

    @property
    def key(self) -> Key:
        return (
            self.channel,
            self.notification.group_key,
            "ack" if self.action == "acknowledge" else "notify",
        )

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["notification"] = notification_to_dict(self.notification)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OutboxEntry:
        return cls(**{**d, "notification": notification_from_dict(d["notification"])})


def notification_to_dict(n: Notification) -> dict[str, Any]:
    return {
        "receiver": n.receiver,
        "group_key": n.group_key,
        "group_labels": dict(n.group_labels),
        "alerts": [
            {
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "status": a.status,
                "starts_at_ms": a.starts_at_ms,
                "ends_at_ms": a.ends_at_ms,
                "value": a.value,
                "generator_url": a.generator_url,
            }
            for a in n.alerts
        ],
        "external_url": n.external_url,
        "truncated_alerts": n.truncated_alerts,
        "extra": dict(n.extra),
    }


def notification_from_dict(d: dict[str, Any]) -> Notification:
    return Notification(**{**d, "alerts": tuple(Alert(**a) for a in d["alerts"])})


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
