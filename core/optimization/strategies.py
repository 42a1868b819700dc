"""Right-sizing strategies: small classes with a settings model, in the spirit of KRR.

Each strategy maps one container's usage statistics (a row of ``read_usage``) to recommended
requests and limits, or to ``None`` with the reason. Their settings models declare bounds and
descriptions; the Optimization page turns those fields into what-if widgets.

Unlike KRR's ``simple`` strategy, a memory limit is never below the observed peak plus headroom,
and where the history shows OOM kills or CPU throttling the observed peak is censored by the
current limit, so the limit is raised by a factor over the current one instead of trusting it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from core.optimization.model import Resources
from core.optimization.usage import QUANTILES

Row = Mapping[str, Any]
THROTTLED = 0.01  # share of throttled CFS periods above which observed CPU usage is censored


class StrategySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_percentile: float = Field(
        95, ge=50, le=100, description="Percentile of CPU usage for the CPU request"
    )
    memory_buffer_percentage: float = Field(
        15, ge=0, le=200, description="Headroom over the memory peak for the memory limit (%)"
    )
    points_required: int = Field(100, ge=1, le=100_000, description="Raw samples needed for a recommendation")
    history_hours_required: float = Field(3, ge=0, le=24 * 90, description="History needed (hours)")
    oom_bump_factor: float = Field(
        1.5,
        ge=1,
        le=10,
        description="After OOM kills, the memory limit is at least the current one times this",
    )
    min_cpu_cores: float = Field(0.01, ge=0, le=8, description="Smallest CPU request recommended (cores)")
    min_memory_mib: float = Field(32, ge=0, le=65_536, description="Smallest memory recommended (MiB)")


class SimpleLimitSettings(StrategySettings):
    cpu_limit_buffer_percentage: float = Field(
        25, ge=0, le=500, description="Headroom over the CPU peak for the CPU limit (%)"
    )
    throttle_bump_factor: float = Field(
        2.0,
        ge=1,
        le=10,
        description=(
            "When throttled, the CPU limit is at least the current one times this (usage above the limit "
            "is never observed, so the limit doubles and the next window shows the real demand)"
        ),
    )
    throttled_ratio_allowed: float = Field(
        0.01, ge=0, le=1, description="Share of throttled CFS periods that counts as throttling"
    )


class MemoryPercentileSettings(StrategySettings):
    memory_percentile: float = Field(
        95, ge=50, le=100, description="Percentile of memory (bucket maxima) for the memory request"
    )
    memory_request_buffer_percentage: float = Field(
        10, ge=0, le=200, description="Headroom over that percentile for the memory request (%)"
    )


class Strategy:
    """KRR ``simple``: CPU request = p95, no CPU limit; memory request = limit = peak + 15 %."""

    name: ClassVar[str] = "simple"
    description: ClassVar[str] = "CPU request at a percentile, no CPU limit; memory at the peak plus headroom"
    settings_class: ClassVar[type[StrategySettings]] = StrategySettings

    def __init__(self, settings: StrategySettings | None = None) -> None:
        self.settings = settings or self.settings_class()

    def undefined_reason(self, u: Row) -> str:
        s = self.settings
        if u["cpu_p95"] is None or u["memory_peak"] is None:
            return "no CPU or memory usage in the window"
        if u["points"] < s.points_required:
            return f"{u['points']} samples, {s.points_required} needed"
        hours = (u["last_ms"] - u["first_ms"]) / 3_600_000
        if hours < s.history_hours_required:
            return f"{hours:.1f} h of history, {s.history_hours_required:g} h needed"
        return ""

    def cpu_request(self, u: Row) -> float:
        """The CPU percentile; never below the current request when throttled (usage censored)."""
        value = max(percentile(u, "cpu", self.settings.cpu_percentile), self.settings.min_cpu_cores)
        ratio = throttled_ratio(u)
        if ratio is not None and ratio > THROTTLED and u["cpu_request"]:
            value = max(value, float(u["cpu_request"]))
        return value

    def cpu_limit(self, u: Row) -> float | None:
        return None

    def memory_limit(self, u: Row) -> float:
        s = self.settings
        peak = float(u["memory_peak"]) * (1 + s.memory_buffer_percentage / 100)
        if (u["oom_kills"] or 0) > 0 and u["memory_limit"]:
            peak = max(peak, float(u["memory_limit"]) * s.oom_bump_factor)
        return max(peak, s.min_memory_mib * 2**20)

    def memory_request(self, u: Row) -> float:
        return self.memory_limit(u)

    def recommend(self, u: Row) -> Resources | str:
        """Recommended resources, or the reason there are none."""
        reason = self.undefined_reason(u)
        if reason:
            return reason
        limit = self.memory_limit(u)
        return Resources(self.cpu_request(u), self.cpu_limit(u), min(self.memory_request(u), limit), limit)


class SimpleLimitStrategy(Strategy):
    """``simple`` plus a CPU limit: the CPU peak plus headroom, raised after throttling."""

    name = "simple-limit"
    description = "As simple, with a CPU limit at the CPU peak plus headroom (raised when throttled)"
    settings_class = SimpleLimitSettings
    settings: SimpleLimitSettings

    def cpu_limit(self, u: Row) -> float | None:
        s = self.settings
        limit = float(u["cpu_peak"]) * (1 + s.cpu_limit_buffer_percentage / 100)
        ratio = throttled_ratio(u)
        if ratio is not None and ratio > s.throttled_ratio_allowed and u["cpu_limit"]:
            limit = max(limit, float(u["cpu_limit"]) * s.throttle_bump_factor)
        return max(limit, self.cpu_request(u))


class MemoryPercentileStrategy(Strategy):
    """Memory request at a percentile plus headroom (not the peak); the limit stays peak + headroom."""

    name = "memory-percentile"
    description = "Memory request at a percentile of usage, memory limit at the peak plus headroom"
    settings_class = MemoryPercentileSettings
    settings: MemoryPercentileSettings

    def memory_request(self, u: Row) -> float:
        s = self.settings
        value = percentile(u, "memory", s.memory_percentile)
        return max(value * (1 + s.memory_request_buffer_percentage / 100), s.min_memory_mib * 2**20)


def percentile(u: Row, resource: str, q: float) -> float:
    """The usage percentile of ``resource`` at ``q``: the nearest one read at or above it (peak at 100)."""
    for p in (*(round(x * 100) for x in QUANTILES), 100):
        if p >= q:
            key = f"{resource}_p{p}" if p < 100 else f"{resource}_peak"
            return float(u[key])
    return float(u[f"{resource}_peak"])


def throttled_ratio(u: Row) -> float | None:
    periods = u.get("periods") or 0
    return None if periods <= 0 else float(u.get("throttled_periods") or 0) / periods


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (Strategy, SimpleLimitStrategy, MemoryPercentileStrategy)
}


def make_strategy(name: str, **overrides: Any) -> Strategy:
    """A strategy by name with settings overrides (what-if values)."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    cls = STRATEGIES[name]
    return cls(cls.settings_class(**overrides))
