"""The alert and notification objects shared by rules, routing and channels.

They follow Alertmanager's shapes so users coming from it find the same fields: an alert is a
label set with annotations, a start and an end; a notification is one group of alerts sent to one
receiver, serialised as the Alertmanager webhook payload version 4.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

Status = Literal["firing", "resolved"]
SEVERITIES = ("critical", "warning", "info")
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of an alert that has not ended

_FNV_OFFSET, _FNV_PRIME, _SEP = 0xCBF29CE484222325, 0x100000001B3, 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint: FNV-1a 64 over sorted names and values, 0xff separated, hex."""
    return _fnv(tuple(sorted(labels.items())))


@lru_cache(maxsize=65_536)  # the same label sets come back at every evaluation; the byte loop is slow
def _fnv(items: tuple[tuple[str, str], ...]) -> str:
    h = _FNV_OFFSET
    for name, value in items:
        for part in (name, value):
            for byte in part.encode():
                h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
            h = ((h ^ _SEP) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def rfc3339(ms: int | None) -> str:
    if ms is None:
        return ZERO_TIME
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Alert:
    """One alert instance: a rule's firing (or resolved) label set."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    status: Status
    starts_at_ms: int
    ends_at_ms: int | None = None
    value: float | None = None
    generator_url: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "warning")

    def to_webhook(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": rfc3339(self.starts_at_ms),
            "endsAt": rfc3339(self.ends_at_ms),
            "generatorURL": self.generator_url,
            "fingerprint": self.fingerprint,
        }


def _common(maps: list[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


@dataclass(frozen=True)
class Notification:
    """One group of alerts for one receiver: what a channel delivers."""

    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    alerts: tuple[Alert, ...]
    external_url: str = ""
    truncated_alerts: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)
    # the same for every attempt and re-send of this notification, also after a restart: a receiver
    # can drop a duplicate by it (see docs/alerting.md, "Delivery guarantees")
    idempotency_key: str = ""

    @property
    def status(self) -> Status:
        return "firing" if any(a.status == "firing" for a in self.alerts) else "resolved"

    @property
    def common_labels(self) -> dict[str, str]:
        return _common([a.labels for a in self.alerts])

    @property
    def common_annotations(self) -> dict[str, str]:
        return _common([a.annotations for a in self.alerts])

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "firing"]

    def webhook_payload(self) -> dict[str, Any]:
        """The Alertmanager webhook payload, version 4."""
        return {
            "version": "4",
            "groupKey": self.group_key,
            "truncatedAlerts": self.truncated_alerts,
            "status": self.status,
            "receiver": self.receiver,
            "groupLabels": dict(self.group_labels),
            "commonLabels": self.common_labels,
            "commonAnnotations": self.common_annotations,
            "externalURL": self.external_url,
            "alerts": [a.to_webhook() for a in self.alerts],
            **({"idempotencyKey": self.idempotency_key} if self.idempotency_key else {}),
        }


State = Literal["pending", "firing", "resolved"]


RESOLVED_RETENTION_MS = 15 * 60_000  # as Prometheus keeps resolved alerts for 15 minutes


@dataclass(frozen=True)
class AlertState:
    rule: str  # "<group>/<alert>"
    fingerprint: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    state: State
    active_at_ms: int
    fired_at_ms: int | None
    resolved_at_ms: int | None
    last_active_ms: int
    value: float | None


@dataclass(frozen=True)
class Transition:
    rule: str
    fingerprint: str
    labels: Mapping[str, str]
    from_state: str  # inactive | pending | firing | resolved
    to_state: str
    at_ms: int
    value: float | None


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
        "idempotency_key": n.idempotency_key,
    }


def notification_from_dict(d: dict[str, Any]) -> Notification:
    return Notification(**{**d, "alerts": tuple(Alert(**a) for a in d["alerts"])})
