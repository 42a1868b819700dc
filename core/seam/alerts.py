"""Alerts as one user may see and act on them: current alerts, rule history, silences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import polars as pl

from core.access.policy import Action
from core.alerts.inhibit import InhibitRule
from core.incidents.service import IncidentService
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
        return av.rule_history(self._store.engine, rule, start_ms, end_ms)

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

    def create_silence(
        self, matchers: Iterable[str], minutes: float, comment: str, team: str | None = None
    ) -> Silence:
        self._c.require(Action.SILENCE, team)
        return av.create_silence(
            self._store.engine, matchers, minutes, self._c.principal.username, comment, self._c.now_ms()
        )

    def silences(self) -> pl.DataFrame:
        return av.silences_table(self._store.engine, self._c.now_ms())

    def end_silence(self, silence_id: str) -> bool:
        self._c.require(Action.SILENCE)
        return av.end_silence(self._store.engine, silence_id, self._c.now_ms())

    def _incidents(self) -> IncidentService:
        return IncidentService(self._store.engine, self._settings.incidents)
