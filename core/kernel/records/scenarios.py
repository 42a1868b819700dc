"""Plain records of saved what-if scenarios (kept by ``core.storage.repos.scenarios``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScenarioRecord:
    """A capacity scenario saved by name: its inputs as JSON (the planner re-projects them)."""

    owner: str
    name: str
    settings: str  # JSON of core.capacity.Scenario
    created_ms: int
    updated_ms: int
