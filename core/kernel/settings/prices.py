"""Unit prices: one set for the whole installation, so that Usage (showback), Capacity (the
what-if planner's cost), Optimization (savings) and the CSV snapshots price a core-hour alike.

Set them in ``pulse.toml`` (``[prices]``) or the environment (``PULSE_PRICES__CPU_CORE_HOUR``);
the pages start their price widgets from them, the snapshots use them as they are.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

HOURS_PER_MONTH = 730.0


class PriceSettings(BaseModel):
    """Unit prices that turn cores and GiB held for an hour into money."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = Field("USD", min_length=1, max_length=8, description="Currency of the prices")
    cpu_core_hour: float = Field(0.031, ge=0, le=100, description="Price of one requested CPU core per hour")
    memory_gib_hour: float = Field(
        0.004, ge=0, le=100, description="Price of one requested GiB of memory per hour"
    )

    def monthly(self, cores: float, gib: float) -> float:
        """Money a month for ``cores`` and ``gib`` held around the clock."""
        return (cores * self.cpu_core_hour + gib * self.memory_gib_hour) * HOURS_PER_MONTH
