"""Plain records of the notification stage that the storage keeps: deliveries, outbox entries,
the notification log, silences and escalation states."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from core.kernel.matchers import describe, matches
from core.kernel.records.alerts import Notification, notification_from_dict, notification_to_dict
from core.kernel.selector import Matcher


@dataclass(frozen=True)
class Delivery:
    """One attempt (or refusal) to deliver one notification through one channel: plain data."""

    channel: str
    at_ms: int
    ok: bool
    action: str
    group_key: str
    outcome: str = "delivered"  # delivered | failed | rate_limited | dropped
    attempt: int = 1
    status_code: int | None = None
    error: str = ""
    retryable: bool = False
    retry_after_s: float | None = None
    duration_ms: int = 0
    alerts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    slot: str = ""  # channels delivering every change: one entry per change ("c" + time), in order

    @property
    def key(self) -> Key:
        return (
            self.channel,
            self.notification.group_key,
            "ack" if self.action == "acknowledge" else (self.slot or "notify"),
        )

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["notification"] = notification_to_dict(self.notification)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OutboxEntry:
        return cls(**{**d, "notification": notification_from_dict(d["notification"])})


@dataclass(frozen=True)
class LogEntry:
    firing: frozenset[str]
    resolved: frozenset[str]
    sent_ms: int


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_ms: int
    ends_ms: int
    created_by: str
    comment: str
    created_ms: int

    def state(self, now_ms: int) -> str:
        if now_ms < self.starts_ms:
            return "pending"
        return "active" if now_ms < self.ends_ms else "expired"

    def mutes(self, labels: Mapping[str, str], now_ms: int) -> bool:
        return self.state(now_ms) == "active" and matches(self.matchers, labels)

    @property
    def matcher_text(self) -> str:
        return describe(self.matchers)


@dataclass(frozen=True)
class EscalationState:
    incident_id: int
    policy: str
    step: int  # the next step to notify
    round: int  # 0 on the first pass
    next_ms: int  # when that step is due
    done: bool = False
