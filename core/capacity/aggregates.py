"""The fleet aggregates that capacity planning forecasts, and the capacity metrics with thresholds.

An aggregate is plain data (a selector and how to reduce it), so the caller that owns the store
(the seam, the CLI) runs the query; :func:`total` reduces an already-read long frame the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl


@dataclass(frozen=True)
class Aggregate:
    name: str
    selector: str
    over: Literal["avg", "rate"]  # per series within each step
    across: Literal["sum", "avg"]  # across the matching series
    unit: str
    description: str


AGGREGATES: dict[str, Aggregate] = {
    a.name: a
    for a in (
        Aggregate(
            "fleet_cpu", "host_cpu_utilization_ratio", "avg", "avg", "ratio", "mean CPU use of the hosts"
        ),
        Aggregate("fleet_memory", "host_memory_used_bytes", "avg", "sum", "bytes", "memory used, all hosts"),
        Aggregate("fleet_disk", "host_disk_used_bytes", "avg", "sum", "bytes", "root disks used, all hosts"),
        Aggregate(
            "sessions", "platform_debug_sessions_active", "avg", "sum", "sessions", "active debug sessions"
        ),
        Aggregate(
            "tool_calls", "mcp_server_tool_calls_total", "rate", "sum", "calls/s", "tool calls per second"
        ),
        Aggregate("active_users", "platform_active_users", "avg", "sum", "users", "active users, all teams"),
    )
}

# capacity metric -> (default threshold, direction): where "full" is for time to exhaustion
CAPACITY_THRESHOLDS: dict[str, tuple[float, Literal["above", "below"]]] = {
    "host_disk_utilization_ratio": (1.0, "above"),
    "host_memory_utilization_ratio": (0.95, "above"),
    "host_cpu_utilization_ratio": (0.9, "above"),
}


def total(frame: pl.DataFrame, how: Literal["sum", "avg"] = "sum") -> pl.DataFrame:
    """One series (ts, value) from a long frame: the sum or mean across series at each ts."""
    agg = pl.col("value").sum() if how == "sum" else pl.col("value").mean()
    return frame.group_by("ts").agg(agg).sort("ts")
