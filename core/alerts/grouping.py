"""Aggregation groups and their timers (Alertmanager's dispatcher), with a notification log.

Each tick gets the complete set of current alerts (firing, and resolved ones still kept). Every
alert goes to the groups of the routes it matches: one group per route and value of the route's
``group_by`` labels. A new group is flushed ``group_wait`` after it appears, then every
``group_interval``; a flush notifies a receiver only when something changed for it since its
last notification (a new firing alert, or alerts resolved) or ``repeat_interval`` has passed.
What each receiver was last told lives in the notification log (persisted), so after a restart
groups are rebuilt from the alerts and nothing already sent is sent again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from core.alerts.routing import Route, match_routes
from core.kernel.records.alerts import Alert, Notification
from core.kernel.records.notifications import LogEntry


class NotificationLog(Protocol):
    def get(self, receiver: str, group_key: str) -> LogEntry | None: ...

    def put(self, receiver: str, group_key: str, entry: LogEntry) -> None: ...


class MemoryLog:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], LogEntry] = {}

    def get(self, receiver: str, group_key: str) -> LogEntry | None:
        return self.entries.get((receiver, group_key))

    def put(self, receiver: str, group_key: str, entry: LogEntry) -> None:
        self.entries[(receiver, group_key)] = entry


@dataclass
class Group:
    key: str
    route: Route
    labels: dict[str, str]
    created_ms: int
    next_flush_ms: int
    alerts: dict[str, Alert] = field(default_factory=dict)


def group_key(route: Route, labels: Mapping[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{route.path}:{{{inner}}}"


def needs_update(
    entry: LogEntry | None, firing: frozenset[str], resolved: frozenset[str], now_ms: int, repeat_ms: int
) -> bool:
    """Alertmanager's DedupStage.needsUpdate."""
    if entry is None:
        return bool(firing)
    if not firing <= entry.firing:
        return True  # a new firing alert
    if not firing:
        return bool(entry.firing)  # everything resolved
    if not resolved <= entry.resolved:
        return True  # some resolved since
    return entry.sent_ms + repeat_ms <= now_ms


def idempotency_key(
    receiver: str, group_key: str, firing: frozenset[str], resolved: frozenset[str], previous_ms: int
) -> str:
    """The key of one notification: receiver and group, state (the firing and resolved alerts) and
    sequence (when the previous notification of this group went to this receiver, 0 for the first).

    Everything in it comes from the notification log, so a notification re-made after a crash (the
    log was not written yet) gets the same key as the one in flight when the process died."""
    group = hashlib.sha256(f"{receiver}\x00{group_key}".encode()).hexdigest()[:16]
    state = hashlib.sha256(
        ("\x00".join(sorted(firing)) + "\x01" + "\x00".join(sorted(resolved))).encode()
    ).hexdigest()[:12]
    return f"{group}-{state}-{previous_ms}"


Send = Callable[[str, Notification], object]  # (receiver, notification) -> delivery records


class Grouper:
    """Keeps the groups between ticks and flushes them when due."""

    def __init__(self, route: Route, log: NotificationLog, external_url: str = "") -> None:
        self.route, self.log, self.external_url = route, log, external_url
        self.groups: dict[str, Group] = {}

    def update(self, alerts: Iterable[Alert], now_ms: int) -> None:
        """Place the current alerts in their groups; alerts no longer current leave their groups."""
        placed: dict[str, dict[str, Alert]] = {}
        for alert in alerts:
            for route in match_routes(self.route, alert.labels):
                labels = route.group_labels(alert.labels)
                key = group_key(route, labels)
                if key not in self.groups:
                    self.groups[key] = Group(key, route, labels, now_ms, now_ms + route.group_wait_ms)
                placed.setdefault(key, {})[alert.fingerprint] = alert
        for key, group in list(self.groups.items()):
            group.alerts = placed.get(key, {})

    def flush_due(self, now_ms: int, send: Send) -> list[Notification]:
        """Flush the groups whose timer is due; returns the notifications handed to ``send``."""
        sent: list[Notification] = []
        for key, group in list(self.groups.items()):
            if now_ms < group.next_flush_ms:
                continue
            group.next_flush_ms = now_ms + group.route.group_interval_ms
            sent += self._flush(group, now_ms, send)
            if not any(a.status == "firing" for a in group.alerts.values()):
                del self.groups[key]  # resolved (and told) or emptied: a new group starts over
        return sent

    def _flush(self, group: Group, now_ms: int, send: Send) -> list[Notification]:
        firing = frozenset(fp for fp, a in group.alerts.items() if a.status == "firing")
        resolved = frozenset(fp for fp, a in group.alerts.items() if a.status == "resolved")
        out = []
        for receiver in group.route.receivers:
            entry = self.log.get(receiver, group.key)
            if not needs_update(entry, firing, resolved, now_ms, group.route.repeat_interval_ms):
                continue
            told = entry.firing if entry else frozenset()
            # resolved alerts matter only to receivers that were told they fired
            alerts = tuple(a for fp, a in sorted(group.alerts.items()) if a.status == "firing" or fp in told)
            if not alerts:  # e.g. every alert of the group silenced: nothing to say, nothing logged
                continue
            key = idempotency_key(receiver, group.key, firing, resolved, entry.sent_ms if entry else 0)
            n = Notification(
                receiver, group.key, dict(group.labels), alerts, self.external_url, idempotency_key=key
            )
            send(receiver, n)
            self.log.put(receiver, group.key, LogEntry(firing, resolved, now_ms))
            out.append(n)
        return out
