"""Incidents, their alerts, timeline and action items: the only SQL of core.incidents.

Writes are whole units (an incident with its new memberships and events) in one transaction;
an update names the version it read and fails with IncidentConflict when someone changed the
incident since (two operators acknowledging at once: one wins, the other is told).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Engine, RowMapping

from core.kernel.errors import IncidentConflict, IncidentNotFound
from core.kernel.records.incidents import (
    ActionItem,
    Event,
    Impact,
    Incident,
    IncidentDetail,
    IncidentWrite,
    Loaded,
    MemberAlert,
)
from core.storage.engine import storage_errors
from core.storage.schema_incidents import (
    incident_actions,
    incident_alerts,
    incident_events,
    incident_teams,
    incidents,
)
from core.storage.upsert import upsert

_PART = 500
NO_TEAM = "(no team)"


def _dump(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _incident_row(inc: Incident) -> dict[str, Any]:
    """Columns are named as the dataclass fields; labels and impact are JSON."""
    row = {f.name: getattr(inc, f.name) for f in fields(Incident) if f.name not in ("id", "version")}
    row["title"] = inc.title[:500]
    row["labels"] = _dump(dict(inc.labels))
    row["impact"] = _dump({k: list(v) for k, v in inc.impact.as_dict().items()})
    return row


def _incident(r: RowMapping) -> Incident:
    d = dict(r)
    d["labels"] = json.loads(d["labels"])
    d["impact"] = Impact.from_dict(json.loads(d["impact"]))
    return Incident(**d)


def _alert_row(incident_id: int, m: MemberAlert) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "fingerprint": m.fingerprint,
        "rule": m.rule[:300],
        "alertname": m.name[:200],
        "severity": m.severity[:20],
        "labels": _dump(dict(m.labels)),
        "annotations": _dump(dict(m.annotations)),
        "state": m.state,
        "first_ms": m.first_ms,
        "last_ms": m.last_ms,
        "resolved_ms": m.resolved_ms,
        "value": m.value,
    }


def _member(r: RowMapping) -> MemberAlert:
    return MemberAlert(
        r["fingerprint"],
        r["rule"],
        r["alertname"],
        r["severity"],
        json.loads(r["labels"]),
        json.loads(r["annotations"]),
        r["state"],
        r["first_ms"],
        r["last_ms"],
        r["resolved_ms"],
        r["value"],
    )


def _event_row(incident_id: int, e: Event) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "at_ms": e.at_ms,
        "kind": e.kind,
        "actor": e.actor[:200],
        "text": e.text,
        "data": _dump(dict(e.data)),
    }


def _event(r: RowMapping) -> Event:
    return Event(
        r["kind"], r["at_ms"], r["actor"], r["text"], json.loads(r["data"]), r["incident_id"], r["id"]
    )


def _action(r: RowMapping) -> ActionItem:
    return ActionItem(
        r["id"], r["incident_id"], r["text"], r["owner"], bool(r["done"]), r["created_ms"], r["done_ms"]
    )


def _alerts_of(conn: Connection, ids: Sequence[int]) -> dict[int, list[MemberAlert]]:
    out: dict[int, list[MemberAlert]] = {i: [] for i in ids}
    a = incident_alerts.c
    for i in range(0, len(ids), _PART):
        q = sa.select(incident_alerts).where(a.incident_id.in_(ids[i : i + _PART]))
        for r in conn.execute(q.order_by(a.incident_id, a.first_ms, a.fingerprint)).mappings():
            out[r["incident_id"]].append(_member(r))
    return out


# -- reads -----------------------------------------------------------------------------------------


def load_for_ingest(engine: Engine, resolved_since_ms: int, fingerprints: Iterable[str]) -> Loaded:
    """Open incidents and those resolved since ``resolved_since_ms``, with their alerts; plus the latest
    membership of each of ``fingerprints`` that none of them holds."""
    c = incidents.c
    q = sa.select(incidents).where(
        sa.or_(c.state != "resolved", c.resolved_ms >= resolved_since_ms, c.updated_ms >= resolved_since_ms)
    )
    with storage_errors("loading open incidents"), engine.connect() as conn:
        found = [_incident(r) for r in conn.execute(q.order_by(c.id)).mappings()]
        members = _alerts_of(conn, [i.id for i in found if i.id is not None])
        held = {m.fingerprint for ms in members.values() for m in ms}
        rest = sorted(set(fingerprints) - held)
        latest: dict[str, MemberAlert] = {}
        a = incident_alerts.c
        for i in range(0, len(rest), _PART):
            rows = conn.execute(
                sa.select(incident_alerts)
                .where(a.fingerprint.in_(rest[i : i + _PART]))
                .order_by(a.incident_id)
            ).mappings()
            for r in rows:
                latest[r["fingerprint"]] = _member(r)  # the newest incident last
    details = tuple(IncidentDetail(inc, tuple(members[inc.id])) for inc in found if inc.id is not None)
    return Loaded(details, latest)


def get_detail(engine: Engine, incident_id: int) -> IncidentDetail:
    with storage_errors("reading an incident"), engine.connect() as conn:
        row = conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).mappings().first()
        if row is None:
            raise IncidentNotFound(f"no incident {incident_id}; list the incidents to find its id")
        alerts = _alerts_of(conn, [incident_id])[incident_id]
        e = incident_events.c
        events = conn.execute(
            sa.select(incident_events).where(e.incident_id == incident_id).order_by(e.at_ms, e.id)
        ).mappings()
        timeline = tuple(_event(r) for r in events)
        ac = incident_actions.c
        actions = conn.execute(
            sa.select(incident_actions).where(ac.incident_id == incident_id).order_by(ac.id)
        ).mappings()
        items = tuple(_action(r) for r in actions)
    return IncidentDetail(_incident(row), tuple(alerts), timeline, items)


LIST_SCHEMA = pl.Schema(
    {
        "id": pl.Int64(),
        "key": pl.Utf8(),
        "title": pl.Utf8(),
        "state": pl.Utf8(),
        "severity": pl.Utf8(),
        "priority": pl.Float64(),
        "teams": pl.List(pl.Utf8),
        "assignee": pl.Utf8(),
        "opened_ms": pl.Int64(),
        "acked_ms": pl.Int64(),
        "resolved_ms": pl.Int64(),
        "alert_count": pl.Int64(),
        "firing_count": pl.Int64(),
        "users": pl.Int64(),
        "servers": pl.Int64(),
        "hosts": pl.Int64(),
        "last_alert_ms": pl.Int64(),
        "server_names": pl.List(pl.Utf8),
        "host_names": pl.List(pl.Utf8),
    }
)


def list_incidents(
    engine: Engine,
    states: Sequence[str] = (),
    teams: Sequence[str] = (),
    severities: Sequence[str] = (),
    since_ms: int | None = None,
    until_ms: int | None = None,
    limit: int = 200,
) -> pl.DataFrame:
    """Incidents opened in [since, until) matching the filters: open ones first, then by priority."""
    c = incidents.c
    q = sa.select(incidents)
    if states:
        q = q.where(c.state.in_(list(states)))
    if severities:
        q = q.where(c.severity.in_(list(severities)))
    if teams:
        q = q.where(
            c.id.in_(sa.select(incident_teams.c.incident_id).where(incident_teams.c.team.in_(list(teams))))
        )
    if since_ms is not None:
        q = q.where(c.opened_ms >= since_ms)
    if until_ms is not None:
        q = q.where(c.opened_ms < until_ms)
    closed = sa.case((c.state == "resolved", 1), else_=0)
    q = q.order_by(closed, c.priority.desc(), c.opened_ms.desc(), c.id.desc()).limit(limit)
    with storage_errors("listing incidents"), engine.connect() as conn:
        rows = [_incident(r) for r in conn.execute(q).mappings()]
    data = [
        {
            "id": i.id,
            "key": i.key,
            "title": i.title,
            "state": i.state,
            "severity": i.severity,
            "priority": i.priority,
            "teams": list(i.impact.teams),
            "assignee": i.assignee,
            "opened_ms": i.opened_ms,
            "acked_ms": i.acked_ms,
            "resolved_ms": i.resolved_ms,
            "alert_count": i.alert_count,
            "firing_count": i.firing_count,
            "users": len(i.impact.users),
            "servers": len(i.impact.servers),
            "hosts": len(i.impact.hosts),
            "last_alert_ms": i.last_alert_ms,
            "server_names": list(i.impact.servers),
            "host_names": list(i.impact.hosts),
        }
        for i in rows
    ]
    return pl.DataFrame(data, schema=LIST_SCHEMA)


TIMES_SCHEMA = pl.Schema(
    {
        "id": pl.Int64,
        "team": pl.Utf8,
        "severity": pl.Utf8,
        "opened_ms": pl.Int64,
        "acked_ms": pl.Int64,
        "resolved_ms": pl.Int64,
    }
)


def incident_times(engine: Engine, start_ms: int, end_ms: int) -> pl.DataFrame:
    """One row per incident opened in [start, end) and team it affected (``(no team)`` when none):
    the inputs of MTTA and MTTR."""
    c, t = incidents.c, incident_teams.c
    q = (
        sa.select(c.id, t.team, c.severity, c.opened_ms, c.acked_ms, c.resolved_ms)
        .select_from(incidents.outerjoin(incident_teams, t.incident_id == c.id))
        .where(c.opened_ms >= start_ms, c.opened_ms < end_ms)
        .order_by(c.id, t.team)
    )
    with storage_errors("reading incident times"), engine.connect() as conn:
        rows = [(i, team or NO_TEAM, sev, o, a, r) for i, team, sev, o, a, r in conn.execute(q)]
    return pl.DataFrame(rows, schema=TIMES_SCHEMA, orient="row")


def open_incidents_of(engine: Engine, fingerprints: Iterable[str]) -> dict[str, int]:
    """The open incident holding each alert fingerprint (the newest when several do)."""
    fps = sorted(set(fingerprints))
    out: dict[str, int] = {}
    a, c = incident_alerts.c, incidents.c
    with storage_errors("finding incidents of alerts"), engine.connect() as conn:
        for i in range(0, len(fps), _PART):
            q = (
                sa.select(a.fingerprint, a.incident_id)
                .join(incidents, c.id == a.incident_id)
                .where(a.fingerprint.in_(fps[i : i + _PART]), c.state != "resolved")
                .order_by(a.incident_id)
            )
            out.update({fp: iid for fp, iid in conn.execute(q)})
    return out


# -- writes ----------------------------------------------------------------------------------------


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _write(conn: Connection, w: IncidentWrite) -> Incident:
    inc = w.incident
    row = _incident_row(inc)
    if w.expected_version is None:
        result = conn.execute(sa.insert(incidents).values(**row, version=1))
        inc = replace(inc, id=_new_id(result), version=1)
    else:
        c = incidents.c
        done = conn.execute(
            sa.update(incidents)
            .where(c.id == inc.id, c.version == w.expected_version)
            .values(**row, version=w.expected_version + 1)
        )
        if done.rowcount != 1:
            raise IncidentConflict(
                f"incident {inc.id} changed while this change was being made (someone else acted on it); "
                "reload it and try again"
            )
        inc = replace(inc, version=w.expected_version + 1)
        conn.execute(sa.delete(incident_teams).where(incident_teams.c.incident_id == inc.id))
    assert inc.id is not None
    if inc.impact.teams:
        conn.execute(
            sa.insert(incident_teams), [{"incident_id": inc.id, "team": t} for t in inc.impact.teams]
        )
    rows = [_alert_row(inc.id, m) for m in w.alerts]
    for i in range(0, len(rows), 1000):
        upsert(conn, incident_alerts, rows[i : i + 1000], ["incident_id", "fingerprint"])
    if w.events:
        conn.execute(sa.insert(incident_events), [_event_row(inc.id, e) for e in w.events])
    return inc


def save_writes(engine: Engine, writes: Sequence[IncidentWrite]) -> list[Incident]:
    """Apply every write in one transaction; the incidents as saved (ids and versions set)."""
    if not writes:
        return []
    with storage_errors("saving incidents"), engine.begin() as conn:
        return [_write(conn, w) for w in writes]


def add_events(engine: Engine, incident_id: int, events: Sequence[Event]) -> list[Event]:
    """Append timeline events to an existing incident (notes, notifications, escalations)."""
    with storage_errors("adding incident events"), engine.begin() as conn:
        _require(conn, incident_id)
        out = []
        for e in events:
            result = conn.execute(sa.insert(incident_events).values(**_event_row(incident_id, e)))
            out.append(replace(e, incident_id=incident_id, id=_new_id(result)))
    return out


def _require(conn: Connection, incident_id: int) -> None:
    if conn.execute(sa.select(incidents.c.id).where(incidents.c.id == incident_id)).first() is None:
        raise IncidentNotFound(f"no incident {incident_id}; list the incidents to find its id")


def add_action(engine: Engine, incident_id: int, text: str, owner: str | None, now_ms: int) -> ActionItem:
    with storage_errors("adding an action item"), engine.begin() as conn:
        _require(conn, incident_id)
        values = {
            "incident_id": incident_id,
            "text": text,
            "owner": owner,
            "done": False,
            "created_ms": now_ms,
            "done_ms": None,
        }
        result = conn.execute(sa.insert(incident_actions).values(**values))
        return ActionItem(_new_id(result), incident_id, text, owner, False, now_ms, None)


def set_action_done(engine: Engine, action_id: int, done: bool, now_ms: int) -> ActionItem:
    ac = incident_actions.c
    with storage_errors("updating an action item"), engine.begin() as conn:
        changed = conn.execute(
            sa.update(incident_actions)
            .where(ac.id == action_id)
            .values(done=done, done_ms=now_ms if done else None)
        )
        if changed.rowcount != 1:
            raise IncidentNotFound(f"no action item {action_id}")
        row = conn.execute(sa.select(incident_actions).where(ac.id == action_id)).mappings().one()
    return _action(row)
