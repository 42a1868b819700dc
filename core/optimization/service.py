"""One entry point per kind of recommendation, each returning flat rows (for the CLI, CSV, JSON
and tables); the seam and the Optimization page call these or the functions they wrap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from core.optimization.consolidation import Packing
from core.optimization.idle import consolidation_plan, idle_servers, idle_sessions, underused_hosts
from core.optimization.regressions import Regression, RegressionSettings, find_regressions
from core.optimization.rightsizing import recommend, to_frame
from core.optimization.settings import ConsolidationSettings, IdleSettings, PriceSettings, UsageSettings
from core.optimization.strategies import Strategy, make_strategy
from core.optimization.usage import read_usage
from core.views import Filters, Reader

Kind = Literal["rightsizing", "idle", "consolidation", "regression"]
KINDS: tuple[Kind, ...] = ("rightsizing", "idle", "consolidation", "regression")


@dataclass(frozen=True)
class OptimizationSettings:
    """Everything a recommendation run needs; each part is a pydantic model with bounds."""

    strategy: Strategy = field(default_factory=lambda: make_strategy("simple-limit"))
    usage: UsageSettings = field(default_factory=UsageSettings)
    prices: PriceSettings = field(default_factory=PriceSettings)
    idle: IdleSettings = field(default_factory=IdleSettings)
    consolidation: ConsolidationSettings = field(default_factory=ConsolidationSettings)
    regression: RegressionSettings = field(default_factory=RegressionSettings)


def rightsizing_rows(reader: Reader, end_ms: int, s: OptimizationSettings, f: Filters) -> pl.DataFrame:
    usage = read_usage(reader, end_ms, s.usage, f)
    return to_frame(recommend(usage, s.strategy, s.prices, s.usage.step_s))


def idle_rows(reader: Reader, end_ms: int, s: OptimizationSettings, f: Filters) -> pl.DataFrame:
    """Idle servers, idle sessions and underused hosts, one row each (column ``object``)."""
    servers = idle_servers(reader, end_ms, s.idle, s.prices, f)
    everyone = read_usage(reader, end_ms, UsageSettings(window_days=s.idle.idle_hours / 24), f)
    sessions = idle_sessions(servers, everyone.select("server", "session_id"))
    hosts = underused_hosts(reader, end_ms, s.usage.window_days, s.idle) if not f.active else pl.DataFrame()
    parts = [
        servers.with_columns(pl.lit("server").alias("object"), pl.col("server").alias("name")),
        sessions.with_columns(pl.lit("session").alias("object"), pl.col("session_id").alias("name")),
    ]
    if not hosts.is_empty():
        parts.append(hosts.with_columns(pl.lit("host").alias("object"), pl.col("host").alias("name")))
    out = (
        pl.concat([p for p in parts if not p.is_empty()], how="diagonal_relaxed")
        if any(not p.is_empty() for p in parts)
        else pl.DataFrame({"object": [], "name": []}, schema={"object": pl.Utf8, "name": pl.Utf8})
    )
    return out.select("object", "name", *[c for c in out.columns if c not in ("object", "name")])


def packing_rows(plan: Packing) -> pl.DataFrame:
    """One row per host: keep or drain, servers placed, servers moved in, and the plan's figures."""
    hosts = sorted({*plan.hosts_used, *plan.drain})
    rows = []
    for h in hosts:
        placed = sorted(i for i, b in plan.assignment.items() if b == h)
        moved_in = sorted(i for i, src, dst in plan.moves if dst == h)
        rows.append(
            {
                "host": h,
                "action": "keep" if h in plan.hosts_used else "drain",
                "servers": len(placed),
                "server_names": ",".join(placed),
                "moved_in": ",".join(moved_in),
                "hosts_needed": len(plan.hosts_used),
                "lower_bound": plan.lower_bound,
                "gap": plan.gap,
                "method": plan.method,
                "solve_s": plan.seconds,
            }
        )
    return pl.DataFrame(rows)


def consolidation_rows(reader: Reader, end_ms: int, s: OptimizationSettings, f: Filters) -> pl.DataFrame:
    usage = read_usage(reader, end_ms, s.usage, f)
    plan = consolidation_plan(reader, end_ms, usage, s.consolidation)
    if isinstance(plan, str):
        return pl.DataFrame({"host": [None], "action": ["undefined"], "reason": [plan]})
    return packing_rows(plan)


def regression_rows(found: list[Regression]) -> pl.DataFrame:
    rows = [
        {
            "server": r.server,
            "tool": r.tool,
            "metric": r.metric,
            "start_ms": r.start_ms,
            "end_ms": r.end_ms,
            "before": r.before,
            "after": r.after,
            "ratio": r.ratio,
            "cause": r.cause or "",
            "cause_ms": r.cause_ms,
            "offset_min": r.offset_min,
            "cause_detail": r.cause_detail,
        }
        for r in found
    ]
    return (
        pl.DataFrame(rows, infer_schema_length=None)
        if rows
        else pl.DataFrame({"server": []}, schema={"server": pl.Utf8})
    )


def recommendations(
    reader: Reader,
    end_ms: int,
    kind: Kind,
    settings: OptimizationSettings | None = None,
    filters: Filters | None = None,
) -> pl.DataFrame:
    """Flat rows of one kind of recommendation, with their evidence and risk columns."""
    s, f = settings or OptimizationSettings(), filters or Filters()
    if kind == "rightsizing":
        return rightsizing_rows(reader, end_ms, s, f)
    if kind == "idle":
        return idle_rows(reader, end_ms, s, f)
    if kind == "consolidation":
        return consolidation_rows(reader, end_ms, s, f)
    if kind == "regression":
        return regression_rows(find_regressions(reader, end_ms, s.regression, f))
    raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
