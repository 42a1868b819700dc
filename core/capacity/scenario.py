"""The what-if scenario of the capacity planner: bounded, described fields (the page's sliders).

A :class:`Scenario` says how demand and the fleet change against the baseline forecast: user
growth, teams onboarded (a count times the usage profile of an existing team), hosts added or
removed, the size of a host, the target utilization and unit prices. Values outside a field's
bounds, and combinations that make no sense against a fleet (no host left, no target), raise
:class:`ScenarioError` with a message naming the field, never a traceback.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.kernel.errors import PulseError

HOURS_PER_MONTH = 730.0
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,59}")


class ScenarioError(PulseError):
    """A what-if scenario that cannot be projected: the message names the field and what to do."""


class Scenario(BaseModel):
    """How demand and the fleet change against the baseline forecast."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_growth_pct: float = Field(
        0.0,
        ge=-100,
        le=500,
        description="User growth over the horizon, in percent, on top of the forecast trend "
        "(reached linearly by the horizon's end; demand scales with users)",
    )
    teams_onboarded: int = Field(
        0, ge=0, le=50, description="New teams onboarded now, each using as much as the profile team"
    )
    profile_team: str = Field(
        "",
        max_length=100,
        description="The existing team whose usage a new team has (empty: the average team)",
    )
    hosts_added: int = Field(
        0,
        ge=-500,
        le=500,
        description="Hosts added (negative: removed; removed hosts are of the fleet's average size)",
    )
    host_cores: float = Field(
        0.0, ge=0, le=1024, description="CPU cores of an added host (0: the fleet's average)"
    )
    host_memory_gib: float = Field(
        0.0, ge=0, le=16_384, description="Memory of an added host in GiB (0: the fleet's average)"
    )
    target_utilization: float = Field(
        0.7, ge=0, le=1, description="Utilization a planned fleet should stay under (0 to 1)"
    )
    price_core_hour: float = Field(0.031, ge=0, le=100, description="Price of one CPU core per hour")
    price_gib_hour: float = Field(0.004, ge=0, le=100, description="Price of one GiB of memory per hour")
    currency: str = Field("USD", min_length=1, max_length=8, description="Currency of the prices")

    def monthly(self, cores: float, gib: float) -> float:
        """Money a month for ``cores`` and ``gib`` held around the clock."""
        return (cores * self.price_core_hour + gib * self.price_gib_hour) * HOURS_PER_MONTH


def make_scenario(**values: Any) -> Scenario:
    """A Scenario from loose values; out-of-bounds values raise ScenarioError naming the field."""
    try:
        return Scenario(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "scenario"
            got = err.get("input")
            problems.append(f"{field.replace('_', ' ')}: {err['msg'].lower()} (got {got!r})")
        raise ScenarioError("bad what-if scenario: " + "; ".join(problems)) from None


def check_name(name: str) -> str:
    """A scenario name, stripped; ScenarioError when empty, too long or with odd characters."""
    text = name.strip()
    if not text:
        raise ScenarioError("a scenario needs a name: type one before saving")
    if not NAME.fullmatch(text):
        raise ScenarioError(
            f"scenario name {text[:80]!r} is not allowed: use 1 to 60 letters, digits, spaces, dots, "
            "dashes or underscores, starting with a letter or digit"
        )
    return text
