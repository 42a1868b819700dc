"""Incidents as one user may see and act on them: the list, one incident, its report, MTTA/MTTR."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from core.access.policy import Action
from core.incidents.report import Report
from core.incidents.report_charts import ChartData, chart_data
from core.incidents.service import IncidentService
from core.kernel.errors import IncidentError, PermissionDenied
from core.optimization.profiles import Profile, from_speedscope
from core.storage.repos.users import UserRepo
from core.storage.tsdb import Store
from core.views import ALL, Filters
from core.views import incidents as iv

if TYPE_CHECKING:
    from core.seam.console import Console


@dataclass(frozen=True)
class IncidentProfile:
    """A profile stored on an incident's timeline (``core.runtime.regression_profiles``)."""

    at_ms: int
    text: str
    profile: Profile | None  # None: the event says why it could not be recorded
    speedscope_json: bytes


class Incidents:
    def __init__(self, console: Console, store: Store) -> None:
        self._c = console
        self._store = store
        self._svc = IncidentService(
            store.engine, console.settings.alerting.incidents, metrics=console.rule_metrics
        )

    def listing(
        self,
        states: tuple[str, ...] = (),
        since_ms: int | None = None,
        until_ms: int | None = None,
        filters: Filters = ALL,
    ) -> pl.DataFrame:
        scope = self._c.scope
        return iv.incident_list(self._svc, scope, states, since_ms, until_ms, filters, self._c.hosts())

    def detail(self, incident_id: int) -> iv.DetailFrames:
        """One incident as this user sees it: of an incident shared with other teams, only the
        alerts and timeline lines of theirs (``core.views.incidents.as_seen_by``)."""
        self._visible(self._teams(incident_id), incident_id)
        return iv.detail_frames(self._svc, incident_id, self._c.scope, self._c.hosts())

    def mtta_mttr(self, start_ms: int, end_ms: int, filters: Filters = ALL) -> pl.DataFrame:
        return iv.mtta_mttr(self._svc, start_ms, end_ms, self._c.scope, filters)

    def report(self, incident_id: int) -> Report:
        return self._svc.report(incident_id, self.detail(incident_id).detail)

    def report_charts(self, report: Report) -> list[ChartData]:
        """The report's charts, read through the user's scoped store."""
        return [chart_data(self._c.reader, spec) for spec in report.charts]

    def report_files(self, incident_id: int) -> iv.ReportFiles:
        self._visible(self._teams(incident_id), incident_id)
        return iv.report_files(self._svc, incident_id, self._c.reader, self._c.scope, self._c.hosts())

    def profiles(self, incident_id: int) -> list[IncidentProfile]:
        """The profiles recorded for the incident, oldest first (visible to whoever sees it)."""
        out = []
        for e in self.detail(incident_id).detail.events:
            if e.kind != "profile":
                continue
            doc = e.data.get("speedscope")
            profile = from_speedscope(dict(doc), e.text, 0.0) if isinstance(doc, dict) else None
            out.append(IncidentProfile(e.at_ms, e.text, profile, json.dumps(doc).encode() if doc else b""))
        return sorted(out, key=lambda p: p.at_ms)

    # -- actions ---------------------------------------------------------------------------------
    def acknowledge(self, incident_id: int) -> None:
        self._act(incident_id)
        self._svc.acknowledge(incident_id, self._c.principal.username)

    def resolve(self, incident_id: int) -> None:
        self._act(incident_id, Action.RESOLVE)
        self._svc.resolve(incident_id, self._c.principal.username)

    def reopen(self, incident_id: int) -> None:
        self._act(incident_id, Action.RESOLVE)
        self._svc.reopen(incident_id, self._c.principal.username)

    def add_note(self, incident_id: int, text: str) -> None:
        self._act(incident_id)
        self._svc.add_note(incident_id, self._c.principal.username, text)

    def assign(self, incident_id: int, assignee: str) -> None:
        """Assign to an existing, enabled user (a typo is refused, not stored)."""
        self._act(incident_id, Action.RESOLVE)
        name = assignee.strip().lower()
        user = UserRepo(self._store.engine).get(name)
        if user is None or user.disabled:
            raise IncidentError(
                f"no active user is called {assignee.strip()!r}: assign to a username of Pulse"
            )
        self._svc.assign(incident_id, name, self._c.principal.username)

    def add_action_item(self, incident_id: int, text: str) -> None:
        self._act(incident_id, Action.RESOLVE)
        self._svc.add_action_item(incident_id, text, self._c.principal.username)

    def _teams(self, incident_id: int) -> tuple[str, ...]:
        return self._svc.get(incident_id).incident.teams

    def _visible(self, teams: tuple[str, ...], incident_id: int) -> None:
        scope = self._c.scope
        if scope is not None and not scope.intersection(teams):
            raise PermissionDenied(f"incident #{incident_id} belongs to no team of {self._c.principal.label}")

    def _act(self, incident_id: int, action: Action = Action.ACKNOWLEDGE) -> None:
        """A user acts on an incident as a member of one of its teams they belong to (an incident
        two teams share is acted on by either, as its alerts on the Alerts page are)."""
        teams = self._teams(incident_id)
        self._visible(teams, incident_id)
        scope = self._c.scope
        mine = [t for t in teams if scope is None or t in scope]
        self._c.require(action, mine[0] if mine else None)
