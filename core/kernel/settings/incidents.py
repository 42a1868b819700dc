"""Settings of incident correlation, priority and lifecycle (one pydantic model, passed in)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_SEVERITY_WEIGHTS = {"critical": 100.0, "warning": 30.0, "info": 10.0}
DEFAULT_IMPACT_WEIGHTS = {"users": 0.5, "teams": 1.0, "servers": 0.25, "hosts": 0.5}
DEFAULT_LEVELS = {"P1": 500.0, "P2": 250.0, "P3": 100.0, "P4": 50.0}


class IncidentSettings(BaseModel):
    """``[alerting.incidents]``: how alerts become incidents and how incidents are ranked.

    Plain pydantic (not ``core.kernel.settings.Section``): ``core.kernel.settings`` imports the alerting settings, so
    importing it back from here would be circular."""

    model_config = ConfigDict(extra="forbid")

    correlation_window_s: int = Field(
        600,
        ge=0,
        description="An alert joins an incident (or a forming group) when it fired within this long "
        "of the incident's alerts and shares a correlation label with them",
    )
    max_window_s: int = Field(
        3600,
        gt=0,
        description="An incident stops absorbing new alerts this long after it opened",
    )
    min_alerts: int = Field(
        1, ge=1, le=1000, description="Correlated firing alerts needed before an incident opens"
    )
    correlate_by: list[str] = Field(
        default_factory=lambda: ["host", "server"],
        description="Labels whose shared value ties alerts together (team is left out by default: "
        "one team spans many hosts, and unrelated alerts would merge)",
    )
    topology_leaf: str = Field(
        "server", description="Label of the smallest object of the topology (an MCP server)"
    )
    topology_parents: list[str] = Field(
        default_factory=lambda: ["host"],
        description="Labels of the objects a leaf runs on; learned from alerts that carry both",
    )
    auto_resolve: bool = Field(True, description="Resolve an incident when all of its alerts resolved")
    reopen_window_s: int = Field(
        1800,
        ge=0,
        description="A member alert firing again within this long after the incident resolved "
        "reopens it; later, it opens a new incident (0: never reopen)",
    )
    severity_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SEVERITY_WEIGHTS),
        description="Priority weight of each severity; unknown severities weigh as 'warning'",
    )
    impact_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_IMPACT_WEIGHTS),
        description="Weight of log2(1 + affected count) for users, teams, servers and hosts",
    )
    priority_levels: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_LEVELS),
        description="Lowest score of each level, P1 first; below the last one is the next level",
    )
    report_padding_s: int = Field(
        1800, ge=0, le=86_400, description="Time charted before and after the impact window in reports"
    )

    @model_validator(mode="after")
    def _check(self) -> IncidentSettings:
        if self.max_window_s < self.correlation_window_s:
            raise ValueError("max_window_s must be at least correlation_window_s")
        unknown = set(self.impact_weights) - set(DEFAULT_IMPACT_WEIGHTS)
        if unknown:
            raise ValueError(
                f"unknown impact_weights {sorted(unknown)}; use {sorted(DEFAULT_IMPACT_WEIGHTS)}"
            )
        if any(w < 0 for w in [*self.severity_weights.values(), *self.impact_weights.values()]):
            raise ValueError("severity_weights and impact_weights must not be negative")
        if self.topology_leaf in self.topology_parents:
            raise ValueError("topology_leaf cannot also be one of topology_parents")
        return self
