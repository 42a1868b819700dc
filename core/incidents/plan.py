"""What one ``ingest`` changes: pure planning from the loaded incidents and a batch of alerts.

:func:`plan` never touches the database: the service loads the open (and recently resolved)
incidents, calls it, then saves the returned writes in one transaction. Rules:

- an alert already in an open incident updates its membership: resolved (event), or firing again
  after it resolved or with a newer start (event); the same episode again is a no-op, so passing the
  full current alert list (``AlertEngine.alerts()``) every cycle is cheap and idempotent;
- a member of a resolved incident firing again within ``reopen_window_s`` reopens it; later, and
  for alerts in no incident, correlation (``correlate.py``) joins them to an open incident or opens
  new ones; alerts below ``min_alerts`` wait (returned in ``waiting``, fed back next time);
- an incident whose alerts all resolved in this batch is resolved by Pulse (``auto_resolve``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from core.incidents import lifecycle
from core.incidents.correlate import Group, alert_keys, correlate
from core.incidents.priority import impact_of, score, severity_rank, worst_severity
from core.incidents.topology import Topology
from core.kernel.records.incidents import (
    SYSTEM_ACTOR,
    AlertIn,
    Event,
    Incident,
    IncidentWrite,
    Loaded,
    MemberAlert,
)
from core.kernel.settings.incidents import IncidentSettings


@dataclass(frozen=True)
class PlannedChange:
    write: int  # index into Plan.writes
    kind: str
    at_ms: int
    fingerprint: str | None = None


@dataclass
class Plan:
    writes: list[IncidentWrite] = field(default_factory=list)
    changes: list[PlannedChange] = field(default_factory=list)
    waiting: dict[str, AlertIn] = field(default_factory=dict)


@dataclass
class _Work:
    incident: Incident
    expected_version: int | None
    alerts: dict[str, MemberAlert]
    changed_alerts: dict[str, MemberAlert] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    changes: list[tuple[str, int, str | None]] = field(default_factory=list)
    an_alert_resolved: bool = False

    def put(self, m: MemberAlert) -> None:
        self.alerts[m.fingerprint] = self.changed_alerts[m.fingerprint] = m


def incident_key(founder: str, opened_ms: int) -> str:
    return hashlib.sha1(f"{founder}:{opened_ms}".encode()).hexdigest()[:12]


def root_alert(alerts: Iterable[MemberAlert], topology_leaf: str = "server") -> MemberAlert:
    """The alert an incident is named after: worst severity, then the widest object (a host alert
    before its servers'), then the earliest."""
    return min(
        alerts,
        key=lambda m: (
            severity_rank(m.severity),
            bool(m.labels.get(topology_leaf)),
            m.first_ms,
            m.fingerprint,
        ),
    )


def summarise(
    inc: Incident, alerts: Iterable[MemberAlert], settings: IncidentSettings, topology: Topology | None
) -> Incident:
    """The incident's derived fields recomputed from its alerts."""
    ms = list(alerts)
    if not ms:
        return inc
    sev = worst_severity(m.severity for m in ms)
    impact = impact_of([m.labels for m in ms], topology)
    labels = _common([m.labels for m in ms])
    return replace(
        inc,
        title=root_alert(ms, settings.topology_leaf).summary,
        severity=sev,
        impact=impact,
        priority=score(sev, impact, settings),
        labels=labels,
        alert_count=len(ms),
        firing_count=sum(m.state == "firing" for m in ms),
        first_alert_ms=min(m.first_ms for m in ms),
        last_alert_ms=max(m.last_ms for m in ms),
    )


def _common(maps: list[Mapping[str, str]]) -> dict[str, str]:
    first = maps[0]
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in maps[1:])}


def _fired(a: AlertIn, again: bool = False) -> Event:
    summary = a.annotations.get("summary", "")
    text = f"{a.name} firing{' again' if again else ''}" + (f": {summary}" if summary else "")
    return Event("alert", a.at_ms, SYSTEM_ACTOR, text, _alert_data(a, "firing"))


def _alert_data(a: AlertIn | MemberAlert, status: str) -> dict[str, object]:
    return {
        "fingerprint": a.fingerprint,
        "rule": a.rule,
        "status": status,
        "severity": a.severity,
        "labels": dict(a.labels),
    }


def _dedupe(alerts: Iterable[AlertIn]) -> list[AlertIn]:
    best: dict[str, AlertIn] = {}
    for a in alerts:
        prev = best.get(a.fingerprint)
        if prev is None or (a.at_ms, a.status == "resolved") >= (prev.at_ms, prev.status == "resolved"):
            best[a.fingerprint] = a
    return sorted(best.values(), key=lambda a: (a.at_ms, a.fingerprint))


def plan(
    loaded: Loaded,
    batch: Iterable[AlertIn],
    waiting: Mapping[str, AlertIn],
    now_ms: int,
    settings: IncidentSettings,
    topology: Topology | None = None,
) -> Plan:
    alerts = _dedupe(batch)
    if topology is not None:
        for d in loaded.details:
            for m in d.alerts:
                topology.learn(m.labels)
        for a in alerts:
            topology.learn(a.labels)
    work = {
        d.incident.id: _Work(d.incident, d.incident.version, {m.fingerprint: m for m in d.alerts})
        for d in loaded.details
        if d.incident.id is not None
    }
    member_of: dict[str, int] = {}
    for w in sorted(work.values(), key=lambda w: (w.incident.is_open, w.incident.opened_ms)):
        for fp in w.alerts:
            member_of[fp] = w.incident.id  # type: ignore[assignment]  # open and newest win
    pending = {fp: a for fp, a in waiting.items() if now_ms - a.at_ms <= settings.max_window_s * 1000}
    for a in alerts:
        inc_id = member_of.get(a.fingerprint)
        if inc_id is None:
            older = loaded.latest.get(a.fingerprint)
            if older is not None and a.at_ms <= older.last_ms:
                continue  # the same episode of an alert of an older, closed incident
            if a.status == "firing":
                pending[a.fingerprint] = a
            else:
                pending.pop(a.fingerprint, None)
            continue
        _update_member(work[inc_id], a, now_ms, settings, pending)
    groups = [
        Group(
            w.incident.id,  # type: ignore[arg-type]
            set().union(*(alert_keys(m.labels, settings, topology) for m in w.alerts.values())),
            w.incident.opened_ms,
            min(m.first_ms for m in w.alerts.values()),
            max(m.last_ms for m in w.alerts.values()),
        )
        for w in work.values()
        if w.incident.is_open and w.alerts
    ]
    assignment = correlate(groups, list(pending.values()), settings, topology)
    for fp, inc_id in assignment.joined.items():
        a = pending[fp]
        w = work[inc_id]
        w.put(MemberAlert.of(a))
        w.events.append(_fired(a))
        w.changes.append(("alert_added", a.at_ms, fp))
    new_work = [_open(members, settings) for members in assignment.opened]
    out = Plan(waiting={a.fingerprint: a for a in assignment.waiting})
    for w in [*work.values(), *new_work]:
        _finish(w, out, now_ms, settings, topology)
    return out


def _update_member(
    w: _Work, a: AlertIn, now_ms: int, settings: IncidentSettings, pending: dict[str, AlertIn]
) -> None:
    m = w.alerts[a.fingerprint]
    if a.status == "resolved":
        if m.state == "firing" and a.at_ms >= m.last_ms:
            at = a.ends_ms if a.ends_ms is not None else now_ms
            w.put(replace(m, state="resolved", resolved_ms=at, value=a.value))
            w.events.append(
                Event("alert", at, SYSTEM_ACTOR, f"{a.name} resolved", _alert_data(a, "resolved"))
            )
            w.changes.append(("alert_resolved", at, a.fingerprint))
            w.an_alert_resolved = True
        return
    if a.at_ms <= m.last_ms:
        return  # the same firing episode (or an older one)
    inc = w.incident
    if not inc.is_open:
        resolved = inc.resolved_ms if inc.resolved_ms is not None else inc.updated_ms
        if not settings.reopen_window_s or a.at_ms - resolved > settings.reopen_window_s * 1000:
            pending[a.fingerprint] = a  # too late to reopen: correlated as a new alert
            return
        w.incident, events = lifecycle.reopen(inc, SYSTEM_ACTOR, a.at_ms, f"{a.name} fired again")
        w.events += events
        w.changes.append(("reopened", a.at_ms, a.fingerprint))
    w.put(
        replace(
            m,
            state="firing",
            last_ms=a.at_ms,
            resolved_ms=None,
            value=a.value,
            labels=dict(a.labels),
            annotations=dict(a.annotations),
        )
    )
    w.events.append(_fired(a, again=True))
    w.changes.append(("alert_refired", a.at_ms, a.fingerprint))


def _open(members: list[AlertIn], settings: IncidentSettings) -> _Work:
    opened = members[settings.min_alerts - 1].at_ms
    inc = Incident(
        None, incident_key(members[0].fingerprint, opened), "", "triggered", "warning", 0.0, opened
    )
    w = _Work(inc, None, {})
    for a in members:
        w.put(MemberAlert.of(a))
        w.events.append(_fired(a))
    w.changes.append(("opened", opened, members[0].fingerprint))
    w.changes += [("alert_added", a.at_ms, a.fingerprint) for a in members[1:]]
    return w


def _finish(w: _Work, out: Plan, now_ms: int, settings: IncidentSettings, topology: Topology | None) -> None:
    before = w.incident
    if w.expected_version is not None and not w.changed_alerts and not w.events:
        return  # untouched: not even re-summarised (a closed incident's impact stays as it was)
    inc = summarise(before, w.alerts.values(), settings, topology)
    if w.an_alert_resolved and (
        done := lifecycle.auto_resolution(inc, list(w.alerts.values()), settings, now_ms)
    ):
        inc, events = done
        w.events += events
        w.changes.append(("auto_resolved", inc.resolved_ms or now_ms, None))
    if inc != before:
        inc = replace(inc, updated_ms=max(now_ms, inc.updated_ms))
    index = len(out.writes)
    out.writes.append(IncidentWrite(inc, w.expected_version, list(w.changed_alerts.values()), w.events))
    out.changes += [PlannedChange(index, kind, at, fp) for kind, at, fp in w.changes]
