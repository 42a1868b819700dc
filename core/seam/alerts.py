"""Alerts as one user may see and act on them: current alerts, rule history, silences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import polars as pl

from core.access.policy import Action
from core.admin import audit
from core.alerts.inhibit import InhibitRule
from core.alerts.silences import silence_teams
from core.incidents.service import IncidentService
from core.kernel.errors import PermissionDenied
from core.kernel.records.notifications import Silence
from core.storage.tsdb import Store
from core.views import alerts as av

if TYPE_CHECKING:
    from core.seam.console import Console


class Alerts:
    def __init__(self, console: Console, store: Store) -> None:
        self._c = console
        self._store = store
        self._settings = console.settings.alerting

    def current(self) -> av.AlertsView:
        """Firing, pending and resolved alerts of the user's teams, by priority, with why muted."""
        rules = [InhibitRule.of(r) for r in self._settings.inhibit_rules]
        return av.current_alerts(
            self._store.engine,
            rules,
            self._settings.incidents,
            self._c.now_ms(),
            self._c.scope,
            self._c.hosts(),
        )

    def counts(self) -> dict[str, int]:
        """How many alerts the user may see are firing, pending and muted."""
        return dict(self.current().counts)

    def rule_history(self, rule: str, start_ms: int, end_ms: int) -> pl.DataFrame:
        """The rule's transitions of the alerts the user may see."""
        return av.rule_history(self._store.engine, rule, start_ms, end_ms, self._c.scope, self._c.hosts())

    def incident_of(self, fingerprint: str) -> int | None:
        """The open incident an alert belongs to, if any."""
        found = self._incidents().incidents_of([fingerprint])
        return next(iter(found.values()), None)

    def acknowledge_incident(self, incident_id: int, team: str | None) -> None:
        self._c.require(Action.ACKNOWLEDGE, team)
        self._incidents().acknowledge(incident_id, self._c.principal.username)

    # -- silences --------------------------------------------------------------------------------
    @staticmethod
    def silence_matchers(labels: Mapping[str, str]) -> list[str]:
        return av.silence_matchers(labels)

    def create_silence(self, matchers: Iterable[str], minutes: float, comment: str) -> Silence:
        """A silence starting now. Anyone but an admin silences their own teams' alerts only: the
        team matcher is added, and one that could match another team's alerts is refused."""
        scope = self._c.scope
        for team in sorted(scope) if scope else [None]:
            self._c.require(Action.SILENCE, team)
        return av.create_silence(
            self._store.engine,
            matchers,
            minutes,
            self._c.principal.username,
            comment,
            self._c.now_ms(),
            scope,
            audit=lambda s: audit.entry(
                self._c.actor, "silence.create", s.id, s.created_ms, None, audit.silence_values(s)
            ),
        )

    def preview_silence(self, matchers: Iterable[str]) -> int:
        """How many of the user's own current alerts the silence would match."""
        return av.silence_preview(self.current(), matchers)

    def silences(self) -> pl.DataFrame:
        """Silences of the user's teams (all for an admin) active, scheduled or ended in the last day."""
        return av.silences_table(self._store.engine, self._c.now_ms(), self._c.scope)

    def may_end(self, silence_id: str) -> bool:
        """Whether the user may end this silence: admins any; team leads those limited to their teams."""
        if not self._c.may(action=Action.SILENCE):
            return False
        scope = self._c.scope
        if scope is None:
            return True
        found = {s.id: s for s in av.silences_of(self._store.engine, self._c.now_ms(), scope)}
        s = found.get(silence_id)
        teams = silence_teams(s) if s is not None else None
        return (
            teams is not None
            and teams <= scope
            and all(self._c.may(action=Action.SILENCE, team=t) for t in teams)
        )

    def end_silence(self, silence_id: str) -> bool:
        if not self.may_end(silence_id):
            raise PermissionDenied(
                f"{self._c.principal.label} may not end silence {silence_id[:8]}: "
                "it is not limited to your teams (ask an admin)"
            )
        now = self._c.now_ms()
        found = {s.id: s for s in av.silences_of(self._store.engine, now, self._c.scope)}
        before = found.get(silence_id)
        entry = None
        if before is not None:
            after = replace(before, ends_ms=now)
            values = audit.silence_values
            entry = audit.entry(self._c.actor, "silence.end", silence_id, now, values(before), values(after))
        return av.end_silence(self._store.engine, silence_id, now, entry)

    def _incidents(self) -> IncidentService:
        return IncidentService(self._store.engine, self._settings.incidents)
