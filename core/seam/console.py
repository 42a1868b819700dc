"""The per-session half of the seam: one signed-in user's scoped reads and actions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, TypeVar

from core.access import policy
from core.access.policy import Action, Principal
from core.admin.audit import UI, Actor
from core.kernel.errors import PermissionDenied
from core.kernel.settings import Settings
from core.seam.admin import Admin
from core.seam.alerts import Alerts
from core.seam.database import DatabaseAdvice
from core.seam.incidents import Incidents
from core.seam.plans import Plans
from core.seam.profiling import Profiling
from core.seam.recommendations import Recommendations
from core.seam.rules import AlertRules
from core.seam.selfmon import SelfMonitoring
from core.seam.settings import SettingsAdmin
from core.seam.usage import Usage
from core.storage.repos.health_report import read_report
from core.storage.tsdb import Store
from core.views.scope import Reader, ScopedReader, scoped

T = TypeVar("T")


class Console:
    """Everything a page may read or do, narrowed to ``principal``'s scope."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        principal: Principal,
        rule_metrics: Mapping[str, str] | None = None,
        base: Settings | None = None,
    ) -> None:
        self.settings = settings  # in effect: the file's with the database's overrides
        self.base_settings = base or settings  # the file's: what Admin › Settings lays overrides on
        self.rule_metrics = dict(rule_metrics or {})
        self._store = store
        self.principal = principal
        self.scope: frozenset[str] | None = policy.team_scope(principal)

    # -- who and what ----------------------------------------------------------------------------
    @property
    def teams_key(self) -> tuple[str, ...] | None:
        """The scope as a hashable cache key (None: every team)."""
        return None if self.scope is None else tuple(sorted(self.scope))

    @property
    def cache_key(self) -> tuple[str, tuple[str, ...] | None]:
        """What a cached read of this console depends on: the database and the team scope."""
        return (self.settings.url, self.teams_key)

    def may(self, *, page: str | None = None, action: Action = Action.VIEW, team: str | None = None) -> bool:
        return policy.may(self.principal, page=page, action=action, team=team)

    def require(self, action: Action, team: str | None = None) -> None:
        """Raise PermissionDenied unless the user may do ``action`` (for ``team``)."""
        if not self.may(action=action, team=team):
            where = f" for team {team!r}" if team else ""
            raise PermissionDenied(f"{self.principal.label} may not {action.value}{where}")

    def now_ms(self) -> int:
        return self._store.now_ms()

    @property
    def actor(self) -> Actor:
        """Who the audit log names for this user's changes."""
        return Actor(self.principal.username, UI)

    # -- metrics ---------------------------------------------------------------------------------
    @cached_property
    def reader(self) -> Reader:
        """The store as this user may read it (team-scoped)."""
        return scoped(self._store, self.scope)

    def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(reader, *args)``: a view function run on the scoped store."""
        return fn(self.reader, *args)

    def hosts(self) -> frozenset[str]:
        """Hosts that run one of the user's teams' servers (empty for an unscoped user)."""
        return ScopedReader(self._store, self.scope).hosts() if self.scope else frozenset()

    def collector_health(self) -> dict[str, dict[str, object]]:
        """The daemon's last health report of its collectors (no team data: visible to all)."""
        return read_report(self._store)

    # -- domains ---------------------------------------------------------------------------------
    @cached_property
    def alerts(self) -> Alerts:
        return Alerts(self, self._store)

    @cached_property
    def incidents(self) -> Incidents:
        return Incidents(self, self._store)

    @cached_property
    def database(self) -> DatabaseAdvice:
        return DatabaseAdvice(self)

    @cached_property
    def recommendations(self) -> Recommendations:
        return Recommendations(self, self._store)

    @cached_property
    def profiling(self) -> Profiling:
        return Profiling(self)

    @cached_property
    def admin(self) -> Admin:
        """Users, teams, roles and the audit log (admins only: ``manage_users``)."""
        return Admin(self, self._store)

    @cached_property
    def rules(self) -> AlertRules:
        """Alert rules: every rule's source and state, UI rules' changes, preview (admins only)."""
        return AlertRules(self, self._store)

    @cached_property
    def settings_admin(self) -> SettingsAdmin:
        """The settings in the database: read, change, export, import (admins only: ``manage_settings``)."""
        return SettingsAdmin(self, self._store)

    @cached_property
    def self_monitoring(self) -> SelfMonitoring:
        return SelfMonitoring(self, self._store)

    @cached_property
    def usage(self) -> Usage:
        return Usage(self, self._store)

    @cached_property
    def plans(self) -> Plans:
        return Plans(self, self._store)
