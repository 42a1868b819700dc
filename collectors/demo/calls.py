"""Values of the tool-call series (counters and latency quantiles) and the team platform gauges."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from collectors.demo.capacity import team_growth
from collectors.demo.fleet import ServerParams, activity, between, col
from collectors.demo.schedule import Schedule
from collectors.demo.series import QUANTILES
from collectors.demo.signals import (
    F64,
    GRID,
    I64,
    U64,
    active,
    counter,
    keys,
    normal,
    rounded,
    season,
    smooth,
    trend,
    uniform,
)
from collectors.demo.topology import KIND_SPECS, Topology

SPIKE_RATIO = 0.3
# latency multipliers (p50, p95, p99) while the bad deploy is live
REGRESSION = (1.4, 3.0, 3.2)
MIN_STEP = 0.0001  # quantiles are rounded to 0.1 ms and kept strictly increasing


@dataclass(frozen=True)
class ToolParams:
    server: npt.NDArray[np.intp]
    host: npt.NDArray[np.intp]
    rate: F64
    err: F64
    p50: F64
    r95: F64
    r99: F64
    k: dict[str, U64]

    @classmethod
    def of(cls, topo: Topology, servers: ServerParams) -> ToolParams:
        seed = topo.seed
        names = [f"{topo.servers[i].name}/{tool}" for i, tool in topo.tools]
        p50 = {tool: p for _, _, tools in KIND_SPECS.values() for tool, p in tools}
        idx = np.array([i for i, _ in topo.tools], dtype=np.intp)
        k = {p: keys(seed, names, p) for p in ("rate", "cnt", "err", "errc", "q50", "q95", "q99", "jit")}
        k["act"] = servers.k["act"][idx]
        return cls(
            server=idx,
            host=servers.host[idx],
            rate=0.03 * 27.0 ** between(seed, names, "rate", 0.0, 1.0) * _serving(topo),  # 0.03 .. 0.8/s
            err=between(seed, names, "err", 0.002, 0.02),
            p50=col([p50[tool] for _, tool in topo.tools]) * between(seed, names, "p50", 0.7, 1.4),
            r95=between(seed, names, "r95", 2.0, 3.2),
            r99=between(seed, names, "r99", 1.4, 2.0),
            k=k,
        )


def _serving(topo: Topology) -> F64:
    """1 for each tool of a server that serves calls, 0 for the tools of idle servers."""
    return col([0.0 if topo.servers[i].idle else 1.0 for i, _ in topo.tools])


def _error_ratio(p: ToolParams, sched: Schedule, t: I64) -> F64:
    ratio = np.clip(p.err * (1 + 0.5 * smooth(p.k["err"], t, 1200)), 0.0, 1.0)
    spike = sched.placement("error_spike")
    if spike.tool is None:
        return np.asarray(ratio)
    in_spike = active(t, spike.offset_s, spike.incident.duration_s)[0]
    spiked = SPIKE_RATIO + 0.03 * normal(p.k["err"][spike.tool : spike.tool + 1], t)[0]
    ratio[spike.tool] = np.where(in_spike, spiked, ratio[spike.tool])
    return np.asarray(ratio)


def _cell_counts(p: ToolParams, sched: Schedule, cells: I64) -> I64:
    """Calls then errors per tool and grid cell, stacked: shape (2J, C).

    Cells while a host is down need no zeroing: its servers restart (counters reset) when it is back.
    """
    act = activity(season(cells) * trend(cells), p.k["act"], cells)
    rate = np.maximum(p.rate * act * (1 + 0.15 * smooth(p.k["rate"], cells, 600)), 0.0)
    calls = np.floor(rate * GRID + uniform(p.k["cnt"], cells))
    errors = np.minimum(np.floor(calls * _error_ratio(p, sched, cells) + uniform(p.k["errc"], cells)), calls)
    return np.concatenate([calls, errors]).astype(np.int64)


def _quantiles(p: ToolParams, sched: Schedule, t: I64, base: F64) -> list[F64]:
    act = activity(base, p.k["act"], t)
    p50 = (
        p.p50 * (1 + 0.3 * act) * (1 + 0.1 * smooth(p.k["q50"], t, 600)) * (1 + 0.03 * normal(p.k["jit"], t))
    )
    p95 = p50 * p.r95 * (1 + 0.06 * smooth(p.k["q95"], t, 900))
    p99 = p95 * p.r99 * (1 + 0.05 * smooth(p.k["q99"], t, 900))
    bad = sched.placement("latency_regression")
    in_bad = active(t, bad.offset_s, bad.incident.duration_s)[0]
    hit = p.server == bad.server
    out: list[F64] = []
    for q, factor in zip((p50, p95, p99), REGRESSION, strict=True):
        q[hit] = np.where(in_bad, q[hit] * factor, q[hit])
        floor = out[-1] + MIN_STEP if out else MIN_STEP
        out.append(rounded(np.maximum(q, floor), 4))
    return out


def tool_values(p: ToolParams, sched: Schedule, t: I64, base: F64) -> dict[str, F64]:
    """Tool series by metric name (quantiles keyed by their label value), each (J, T)."""
    resets = sched.last_reset(t)[p.server]
    counts = counter(t, np.concatenate([resets, resets]), lambda cells: _cell_counts(p, sched, cells))
    n = p.server.shape[0]
    values = {
        "mcp_server_tool_calls_total": counts[:n].astype(np.float64),
        "mcp_server_tool_errors_total": counts[n:].astype(np.float64),
    }
    values.update(zip(QUANTILES, _quantiles(p, sched, t, base), strict=True))
    return values


def team_values(topo: Topology, t: I64, base: F64) -> dict[str, F64]:
    """Active users and debug sessions per team, each (K, T); teams grow (``capacity.team_growth``)."""
    seed, teams = topo.seed, list(topo.teams)
    size = np.floor(col([float(len(topo.users[team])) for team in teams]) * team_growth(seed, teams, t))
    act = activity(base, keys(seed, teams, "team"), t)
    users = np.clip(
        rounded(size * np.clip(0.05 + 0.9 * act, 0.0, 1.0) + 0.4 * normal(keys(seed, teams, "u"), t)), 0, size
    )
    sessions = rounded(users * (1.3 + 0.15 * smooth(keys(seed, teams, "s"), t, 1800)))
    return {"platform_active_users": users, "platform_debug_sessions_active": sessions}
