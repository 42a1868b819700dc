"""The incident facade: correlation, lifecycle and reports over the store, at the service's clock.

``IncidentService(engine, settings, clock)``; feed it the rule engine's alerts every cycle
(``service.ingest(engine.alerts(("firing", "resolved")))``) and let the UI act on incidents.
Alerts waiting for ``min_alerts`` are held in memory; after a restart the next full alert list
brings them back, so pass the whole current list, not only the changes, when ``min_alerts`` > 1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from core.incidents import lifecycle
from core.incidents.metrics import GROUPINGS, mtta_mttr
from core.incidents.plan import plan
from core.incidents.priority import level
from core.incidents.report import Report, build_report
from core.incidents.topology import Topology
from core.kernel.errors import IncidentConflict, IncidentError
from core.kernel.records.alerts import Alert, AlertState
from core.kernel.records.incidents import (
    EVENT_KINDS,
    ActionItem,
    AlertIn,
    Change,
    Event,
    Incident,
    IncidentDetail,
    IncidentWrite,
    normalise,
)
from core.kernel.records.notifications import Delivery
from core.kernel.settings.incidents import IncidentSettings
from core.storage import Database
from core.storage.repos import incidents as db

log = logging.getLogger(__name__)
RETRIES = 3


class IncidentService:
    def __init__(
        self,
        engine: Database,
        settings: IncidentSettings | None = None,
        clock: Callable[[], float] = time.time,
        topology: Topology | None = None,
        metrics: Mapping[str, str] | None = None,
    ) -> None:
        self.engine, self.clock = engine, clock
        self.settings = settings or IncidentSettings()
        self.topology = topology or Topology(self.settings.topology_leaf, self.settings.topology_parents)
        # alertname -> selector, for report charts (core.alerts.rules.rule_metrics)
        self.metrics = dict(metrics or {})
        self.waiting: dict[str, AlertIn] = {}

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- alerts in ----------------------------------------------------------------------------------

    def ingest(
        self, alerts: Iterable[AlertState | Alert | AlertIn], now_ms: int | None = None
    ) -> list[Change]:
        """Correlate firing alerts into incidents, record resolutions, auto-resolve; what changed."""
        now = self.now_ms() if now_ms is None else now_ms
        batch = [a for a in (normalise(x) for x in alerts) if a is not None]
        for attempt in range(RETRIES):
            loaded = db.load_for_ingest(
                self.engine, now - self.settings.reopen_window_s * 1000, {a.fingerprint for a in batch}
            )
            p = plan(loaded, batch, self.waiting, now, self.settings, self.topology)
            try:
                saved = db.save_writes(self.engine, p.writes)
            except IncidentConflict:
                if attempt == RETRIES - 1:
                    raise
                log.info("an incident changed during ingest; planning again")
                continue
            self.waiting = p.waiting
            return [Change(saved[c.write].id, c.kind, c.at_ms, c.fingerprint) for c in p.changes]  # type: ignore[arg-type]
        raise AssertionError("unreachable")

    # -- people act ---------------------------------------------------------------------------------

    def _apply(
        self, incident_id: int, change: Callable[[Incident], tuple[Incident, list[Event]]]
    ) -> Incident:
        detail = db.get_detail(self.engine, incident_id)
        new, events = change(detail.incident)
        return db.save_writes(self.engine, [IncidentWrite(new, detail.incident.version, [], events)])[0]

    def acknowledge(self, incident_id: int, actor: str) -> Incident:
        return self._apply(incident_id, lambda i: lifecycle.acknowledge(i, actor, self.now_ms()))

    def resolve(self, incident_id: int, actor: str, reason: str = "") -> Incident:
        return self._apply(incident_id, lambda i: lifecycle.resolve(i, actor, self.now_ms(), reason))

    def reopen(self, incident_id: int, actor: str, reason: str = "") -> Incident:
        return self._apply(incident_id, lambda i: lifecycle.reopen(i, actor, self.now_ms(), reason))

    def assign(self, incident_id: int, assignee: str | None, actor: str) -> Incident:
        return self._apply(incident_id, lambda i: lifecycle.assign(i, assignee, actor, self.now_ms()))

    def add_note(self, incident_id: int, actor: str, text: str) -> Event:
        detail = db.get_detail(self.engine, incident_id)
        return db.add_events(
            self.engine, incident_id, [lifecycle.note(detail.incident, actor, text, self.now_ms())]
        )[0]

    def record_event(
        self,
        incident_id: int,
        kind: str,
        text: str,
        actor: str = "pulse",
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        """Append any timeline event (e.g. ``escalation`` from the escalation policy)."""
        if kind not in EVENT_KINDS:
            raise IncidentError(f"unknown event kind {kind!r}; use one of {', '.join(EVENT_KINDS)}")
        return db.add_events(
            self.engine, incident_id, [Event(kind, self.now_ms(), actor, text, dict(data or {}))]
        )[0]

    def record_notification(self, incident_id: int, delivery: Delivery | Mapping[str, Any]) -> Event:
        """A notification sent about the incident (a channel's ``Delivery`` or its dict)."""
        d = delivery.to_dict() if isinstance(delivery, Delivery) else dict(delivery)
        outcome = d.get("outcome") or ("delivered" if d.get("ok") else "failed")
        text = f"{d.get('action', 'trigger')} via {d.get('channel', '?')}: {outcome}"
        if d.get("alerts"):
            text += f" ({d['alerts']} alerts)"
        if d.get("error"):
            text += f": {d['error']}"
        at = int(d.get("at_ms") or self.now_ms())
        event = Event("notification", at, "pulse", text, d)
        return db.add_events(self.engine, incident_id, [event])[0]

    def incidents_of(self, fingerprints: Iterable[str]) -> dict[str, int]:
        """The open incident of each alert fingerprint (to attach a notification to its incidents)."""
        return db.open_incidents_of(self.engine, fingerprints)

    def add_action_item(self, incident_id: int, text: str, owner: str | None = None) -> ActionItem:
        body = (text or "").strip()
        if not body:
            raise IncidentError("an action item needs text")
        return db.add_action(self.engine, incident_id, body, (owner or "").strip() or None, self.now_ms())

    def set_action_done(self, action_id: int, done: bool = True) -> ActionItem:
        return db.set_action_done(self.engine, action_id, done, self.now_ms())

    # -- reads --------------------------------------------------------------------------------------

    def list(
        self,
        states: Sequence[str] = (),
        teams: Sequence[str] = (),
        severities: Sequence[str] = (),
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 200,
    ) -> pl.DataFrame:
        """Incidents, open first then by priority, with their level (P1..)."""
        df = db.list_incidents(self.engine, states, teams, severities, since_ms, until_ms, limit)
        levels = [level(p, self.settings) for p in df["priority"].to_list()]
        return df.with_columns(pl.Series("level", levels, pl.Utf8))

    def get(self, incident_id: int) -> IncidentDetail:
        return db.get_detail(self.engine, incident_id)

    def mtta_mttr(self, start_ms: int, end_ms: int, by: Sequence[str] = GROUPINGS) -> pl.DataFrame:
        return mtta_mttr(db.incident_times(self.engine, start_ms, end_ms), by)

    def report(self, incident_id: int, detail: IncidentDetail | None = None) -> Report:
        """The report of the incident; of ``detail`` when given (the incident as one user sees it)."""
        d = detail if detail is not None else db.get_detail(self.engine, incident_id)
        return build_report(d, self.settings, self.now_ms(), self.metrics)
