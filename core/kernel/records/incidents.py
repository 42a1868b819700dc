"""The incident objects: plain frozen dataclasses shared by the pure modules and the storage layer.

An incident holds correlated alerts (``MemberAlert``, one per alert fingerprint), a state
(``triggered`` -> ``acknowledged`` -> ``resolved``), a timeline of ``Event`` s and action items.
Alerts come in as the rule engine's ``AlertState`` or the channel model's ``Alert``; both are
normalised to ``AlertIn`` first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.kernel.records.alerts import Alert, AlertState

IncidentState = Literal["triggered", "acknowledged", "resolved"]
INCIDENT_STATES: tuple[IncidentState, ...] = ("triggered", "acknowledged", "resolved")
EventKind = Literal[
    "alert", "notification", "ack", "note", "resolve", "assign", "escalation", "reopen", "profile"
]
EVENT_KINDS: tuple[str, ...] = (
    "alert",
    "notification",
    "ack",
    "note",
    "resolve",
    "assign",
    "escalation",
    "reopen",
    "profile",  # a sampling profile of the server a latency regression is about (data: speedscope)
)
SYSTEM_ACTOR = "pulse"


@dataclass(frozen=True)
class AlertIn:
    """One alert as incidents see it: firing or resolved (pending alerts are ignored)."""

    fingerprint: str
    rule: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    status: Literal["firing", "resolved"]
    at_ms: int  # when this firing episode started
    ends_ms: int | None = None
    value: float | None = None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", self.rule.rsplit("/", 1)[-1])

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "warning")


def normalise(alert: AlertState | Alert | AlertIn) -> AlertIn | None:
    """An ``AlertIn`` for a firing or resolved alert; None for a pending one."""
    if isinstance(alert, AlertIn):
        return alert
    if isinstance(alert, AlertState):
        if alert.state == "pending":
            return None
        return AlertIn(
            alert.fingerprint,
            alert.rule,
            dict(alert.labels),
            dict(alert.annotations),
            alert.state,
            alert.fired_at_ms if alert.fired_at_ms is not None else alert.active_at_ms,
            alert.resolved_at_ms,
            alert.value,
        )
    return AlertIn(
        alert.fingerprint,
        alert.name,
        dict(alert.labels),
        dict(alert.annotations),
        alert.status,
        alert.starts_at_ms,
        alert.ends_at_ms,
        alert.value,
    )


@dataclass(frozen=True)
class Impact:
    """What an incident touches: distinct users, teams, servers and hosts (sorted)."""

    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.as_dict().items()}

    def as_dict(self) -> dict[str, tuple[str, ...]]:
        return {"users": self.users, "teams": self.teams, "servers": self.servers, "hosts": self.hosts}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Impact:
        return cls(**{k: tuple(d.get(k, ())) for k in ("users", "teams", "servers", "hosts")})


@dataclass(frozen=True)
class MemberAlert:
    """One alert (by fingerprint) of one incident; ``last_ms`` is the start of its latest episode."""

    fingerprint: str
    rule: str
    name: str
    severity: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    state: Literal["firing", "resolved"]
    first_ms: int
    last_ms: int
    resolved_ms: int | None = None
    value: float | None = None

    @classmethod
    def of(cls, a: AlertIn) -> MemberAlert:
        resolved = a.status == "resolved"
        return cls(
            a.fingerprint,
            a.rule,
            a.name,
            a.severity,
            dict(a.labels),
            dict(a.annotations),
            a.status,
            a.at_ms,
            a.at_ms,
            (a.ends_ms if a.ends_ms is not None else a.at_ms) if resolved else None,
            a.value,
        )

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.name


@dataclass(frozen=True)
class Incident:
    id: int | None
    key: str
    title: str
    state: IncidentState
    severity: str
    priority: float
    opened_ms: int
    impact: Impact = field(default_factory=Impact)
    labels: Mapping[str, str] = field(default_factory=dict)  # labels all its alerts share
    acked_ms: int | None = None  # first acknowledgement (MTTA)
    acked_by: str | None = None
    resolved_ms: int | None = None
    resolved_by: str | None = None
    assignee: str | None = None
    alert_count: int = 0
    firing_count: int = 0
    first_alert_ms: int = 0
    last_alert_ms: int = 0
    updated_ms: int = 0
    version: int = 0

    @property
    def teams(self) -> tuple[str, ...]:
        return self.impact.teams

    @property
    def is_open(self) -> bool:
        return self.state != "resolved"


@dataclass(frozen=True)
class Event:
    """One line of an incident's timeline."""

    kind: str  # one of EVENT_KINDS
    at_ms: int
    actor: str = SYSTEM_ACTOR
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    incident_id: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class ActionItem:
    id: int | None
    incident_id: int
    text: str
    owner: str | None = None
    done: bool = False
    created_ms: int = 0
    done_ms: int | None = None


@dataclass(frozen=True)
class IncidentDetail:
    """An incident with its alerts, its timeline (oldest first) and its action items."""

    incident: Incident
    alerts: tuple[MemberAlert, ...] = ()
    events: tuple[Event, ...] = ()
    actions: tuple[ActionItem, ...] = ()


@dataclass(frozen=True)
class Change:
    """What one ``ingest`` did to one incident, for the caller (notifications, logs, UI)."""

    incident_id: int
    kind: str  # opened | alert_added | alert_resolved | alert_refired | reopened | auto_resolved
    at_ms: int
    fingerprint: str | None = None


@dataclass(frozen=True)
class Loaded:
    """What planning needs from storage."""

    details: tuple[IncidentDetail, ...] = ()  # open incidents and recently resolved ones, with alerts
    latest: Mapping[str, MemberAlert] = field(default_factory=dict)  # older memberships of batch alerts


@dataclass
class IncidentWrite:
    incident: Incident
    expected_version: int | None  # None: a new incident
    alerts: list[MemberAlert] = field(default_factory=list)  # memberships to insert or replace
    events: list[Event] = field(default_factory=list)
