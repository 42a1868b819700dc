"""The per-session half of the seam: one signed-in user's scoped reads and actions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, TypeVar

from core.access import policy
from core.access.policy import Action, Principal
from core.kernel.errors import PermissionDenied
from core.kernel.settings import Settings
from core.seam.alerts import Alerts
from core.seam.incidents import Incidents
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
    ) -> None:
        self.settings = settings
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
