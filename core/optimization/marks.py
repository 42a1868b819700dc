"""Marking recommendations applied, dismissed, snoozed or open again, as one principal may: the one
place both the Optimization page (through the seam) and ``pulse recommend apply ...`` go, so the
two allow the same changes, record the same events and write the same audit entries.

Team leads mark their teams' servers; a database, host or consolidation recommendation (no team)
is for admins. The audit entry is built by the caller (``core.admin.audit``, a sibling package),
which names the actor and where it acted from (``ui`` or ``cli``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from core.access import policy
from core.access.policy import Action, Principal
from core.kernel.errors import PermissionDenied
from core.kernel.records.audit import AuditEntry
from core.kernel.records.recommendations import RecommendationEvent
from core.optimization import lifecycle
from core.optimization.impact import ImpactSettings, measure
from core.optimization.index_impact import measure_statement
from core.optimization.settings import PriceSettings
from core.storage.repos.recommendations import RecommendationRepo
from core.views import Reader, selector

MARK = Action.EDIT_RULES  # "rules, thresholds, budgets": what a team lead may change for the team
NO_TEAM = Action.MANAGE_SETTINGS
AUDIT_ID_CHARS = 200  # the audit log's object id column; the whole key is in the entry's "after"
STATE_SCHEMA = {
    "key": pl.Utf8,
    "kind": pl.Utf8,
    "subject": pl.Utf8,
    "team": pl.Utf8,
    "state": pl.Utf8,
    "reason": pl.Utf8,
    "username": pl.Utf8,
    "at_ms": pl.Int64,
    "until_ms": pl.Int64,
}
# (action, object id, at, before, after) -> the audit entry of one change
AuditBuilder = Callable[[str, str, int, Mapping[str, Any], Mapping[str, Any]], AuditEntry]


class Marks:
    def __init__(
        self,
        repo: RecommendationRepo,
        reader: Reader,
        principal: Principal,
        now_ms: Callable[[], int],
        audit: AuditBuilder,
    ) -> None:
        self._repo, self._reader, self._principal = repo, reader, principal
        self._now, self._audit = now_ms, audit
        self.scope = policy.team_scope(principal)

    def may(self, action: Action, team: str | None = None) -> bool:
        return policy.may(self._principal, action=action, team=team)

    def _team_of(self, kind: str, subject: str) -> str:
        """The team of a server the principal can see ("" for a database or host recommendation)."""
        if kind in lifecycle.NO_TEAM_KINDS:
            return ""
        found = self._reader.series(selector("container_cpu_usage_cores", server=subject))
        teams = (
            {str(lb["team"]) for lb in found["labels"].to_list() if lb.get("team")} if found.height else set()
        )
        if not teams:
            raise lifecycle.LifecycleError(f"no server {subject!r} in the teams you can see")
        return sorted(teams)[0]

    def mark(
        self, kind: str, subject: str, state: str, reason: str = "", until_ms: int | None = None
    ) -> RecommendationEvent:
        """Record a change of state (LifecycleError / PermissionDenied say why), with its audit entry."""
        team = self._team_of(kind, subject)
        action = MARK if team else NO_TEAM
        if not self.may(action, team or None):
            where = f" for team {team!r}" if team else ""
            raise PermissionDenied(f"{self._principal.label} may not {action.value}{where}")
        key, now = lifecycle.key_for(kind, subject), self._now()
        history = self._repo.history(key)
        before = lifecycle.current(history[-1] if history else None, now)
        new = lifecycle.check(before, state, reason, until_ms, now)
        event = RecommendationEvent(
            key, kind, subject, team, new, reason.strip(), self._principal.username, now, until_ms
        )
        object_id = key if len(key) <= AUDIT_ID_CHARS else key[: AUDIT_ID_CHARS - 3] + "..."
        after = {"key": key, "state": new, "team": team, "reason": event.reason, "until_ms": until_ms}
        entry = self._audit(f"recommendation.{new}", object_id, now, {"state": before}, after)
        return self._repo.append(event, entry)

    def states(self) -> pl.DataFrame:
        """The latest state of every recommendation the principal may see (a snooze past its end is open)."""
        now = self._now()
        rows = [
            {**e.__dict__, "state": lifecycle.current(e, now)}
            for e in self._repo.latest(self.scope)
            if e.team or self.may(NO_TEAM)
        ]
        return pl.DataFrame(rows, schema=STATE_SCHEMA) if rows else pl.DataFrame(schema=STATE_SCHEMA)

    def history(self, key: str) -> list[RecommendationEvent]:
        return [e for e in self._repo.history(key) if self._visible(e)]

    def impact(
        self, key: str, settings: ImpactSettings | None = None, prices: PriceSettings | None = None
    ) -> pl.DataFrame:
        """Before vs after the latest "applied" of ``key``: a server's right-sizing (cost, requests,
        usage, throttling, restarts), or an index (the statement's measured mean time per call)."""
        applied = [e for e in self.history(key) if e.state == "applied"]
        if not applied:
            raise lifecycle.LifecycleError(f"{key} has not been applied")
        last = applied[-1]
        if last.kind == "database":
            queryid = lifecycle.queryid_of(last.subject)
            if queryid is None:
                raise lifecycle.LifecycleError(
                    f"{key} names no statement (/* queryid N */): mark the advice's key as listed"
                )
            return measure_statement(self._reader, queryid, last.at_ms, self._now(), settings)
        return measure(self._reader, last.subject, last.at_ms, self._now(), settings, prices)

    def _visible(self, e: RecommendationEvent) -> bool:
        if not e.team:
            return self.may(NO_TEAM)
        return self.scope is None or e.team in self.scope
