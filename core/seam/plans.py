"""Capacity plans as one user may see and keep them: the baseline forecast and saved scenarios.

Everything here needs the Plan section (``policy.may(page="capacity")``): a developer or viewer
gets PermissionDenied whatever a page showed. Scenarios are the user's own (keyed by username);
the forecast is read through the user's team-scoped reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.capacity.fleet import Baseline, baseline
from core.capacity.scenario import Scenario, ScenarioError, check_name
from core.kernel.errors import PermissionDenied
from core.storage.repos.scenarios import ScenarioRepo
from core.storage.tsdb import Store

if TYPE_CHECKING:
    from core.seam.console import Console

PAGE = "capacity"


class Plans:
    def __init__(self, console: Console, store: Store) -> None:
        self._c = console
        self._store = store
        self._repo = ScenarioRepo(store.engine)

    def _require(self) -> None:
        if not self._c.may(page=PAGE):
            raise PermissionDenied(f"{self._c.principal.label} may not plan capacity (the Plan section)")

    def baseline(self, end_ms: int, history_days: int, horizon_days: int) -> Baseline:
        """The fleet the user sees and its forecast (seconds: cache it per range)."""
        self._require()
        return baseline(self._c.reader, end_ms, history_days, horizon_days)

    def scenarios(self) -> dict[str, Scenario]:
        """The user's saved scenarios by name (a row that no longer validates is skipped)."""
        self._require()
        out = {}
        for rec in self._repo.list(self._c.principal.username):
            try:
                out[rec.name] = Scenario.model_validate_json(rec.settings)
            except ValueError:
                continue
        return out

    def save(self, name: str, scenario: Scenario) -> bool:
        """Save ``scenario`` as ``name`` (ScenarioError for a bad name); True when it replaced one."""
        self._require()
        text = check_name(name)
        return self._repo.save(self._c.principal.username, text, scenario.model_dump_json(), self._c.now_ms())

    def delete(self, name: str) -> None:
        self._require()
        if not self._repo.delete(self._c.principal.username, name):
            raise ScenarioError(f"no saved scenario named {name!r}")
