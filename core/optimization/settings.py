"""Settings of the optimization domain: the usage window, idle and consolidation knobs.

Every field has bounds and a description: the Optimization page builds its what-if widgets
from them (``model_fields``), the CLI and tests construct them directly. Strategy settings live
beside their strategies (``core.optimization.strategies``), regression settings beside the
detector (``core.optimization.regressions``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# the prices are installation-wide (Settings.prices): defined in the kernel, named here as before
from core.kernel.settings.prices import HOURS_PER_MONTH as HOURS_PER_MONTH
from core.kernel.settings.prices import PriceSettings as PriceSettings


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UsageSettings(Section):
    """Which history the recommendations read, and at which resolution."""

    window_days: float = Field(14, ge=0.125, le=90, description="History read per container (days)")
    step_s: int = Field(
        3600,
        ge=60,
        le=86_400,
        description=(
            "Bucket width: percentiles are taken over per-bucket averages, peaks over per-bucket maxima "
            "(exact maxima of the raw samples); smaller is more precise and slower"
        ),
    )

    read_threads: int = Field(4, ge=1, le=32, description="Store queries run at once")


class IdleSettings(Section):
    """When a server or session counts as idle while holding resources."""

    idle_hours: float = Field(24, ge=1, le=24 * 30, description="Look-back without activity (hours)")
    max_calls: float = Field(0, ge=0, description="At most this many tool calls in the look-back")
    max_cpu_cores: float = Field(
        0.1, ge=0, le=64, description="Peak CPU (cores) below which a server does no work (background only)"
    )
    host_target_utilization: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Hosts whose p95 CPU and memory utilization stay below this are underused",
    )


class ConsolidationSettings(Section):
    """Packing the current load onto as few hosts as possible."""

    target_utilization: float = Field(
        0.7, gt=0, le=1, description="Share of a host's CPU and memory the packing may fill"
    )
    load_quantile: float = Field(0.95, ge=0.5, le=1, description="Quantile of each server's CPU packed")
    time_limit_s: float = Field(5.0, gt=0, le=300, description="CP-SAT time limit before falling back")
    move_cost: float = Field(
        0.01, ge=0, le=1, description="Cost of moving one server, in hosts (keeps servers where they are)"
    )
