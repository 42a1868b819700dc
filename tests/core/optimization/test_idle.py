"""Idle servers and sessions, underused hosts and the consolidation plan on the demo fleet."""

from __future__ import annotations

import polars as pl

from collectors.demo import DemoCollector
from core.optimization.consolidation import Packing
from core.optimization.idle import consolidation_plan, host_bins, idle_servers, idle_sessions, underused_hosts
from core.optimization.settings import ConsolidationSettings, UsageSettings
from core.optimization.usage import read_usage
from core.storage.tsdb import Store
from tests.core.optimization.conftest import END


def test_idle_servers_are_exactly_the_demo_idle_ones(history: Store, demo: DemoCollector) -> None:
    found = idle_servers(history, END)
    expected = {s.name for s in demo.topology.servers if s.idle}
    assert len(expected) == 2 and set(found["server"]) == expected
    assert (
        (found["calls"] == 0).all() and (found["held_cores"] > 0).all() and (found["monthly_cost"] > 0).all()
    )


def test_idle_sessions_hold_only_idle_servers(history: Store, demo: DemoCollector) -> None:
    idle = idle_servers(history, END)
    servers = pl.DataFrame(
        {
            "server": [s.name for s in demo.topology.servers],
            "session_id": [s.session_id for s in demo.topology.servers],
        }
    )
    sessions = idle_sessions(idle, servers)
    by_session: dict[str, list[bool]] = {}
    for s in demo.topology.servers:
        by_session.setdefault(s.session_id, []).append(s.idle)
    expected = {sid for sid, flags in by_session.items() if all(flags)}
    assert set(sessions["session_id"]) == expected


def test_underused_hosts_are_below_target_and_the_others_are_not(history: Store) -> None:
    found = underused_hosts(history, END, settings=None)
    assert (found["cpu_p95"] < 0.5).all() and (found["memory_p95"] < 0.5).all()
    all_hosts = {b.name for b in host_bins(history, END, 1.0)}
    assert set(found["host"]) <= all_hosts and len(all_hosts) == 6


def test_consolidation_drains_hosts_and_respects_capacity(history: Store, demo: DemoCollector) -> None:
    usage = read_usage(history, END, UsageSettings(window_days=7))
    plan = consolidation_plan(history, END, usage, ConsolidationSettings(time_limit_s=5))
    assert isinstance(plan, Packing), plan
    assert set(plan.assignment) == {s.name for s in demo.topology.servers} and not plan.unplaced
    assert plan.drain and len(plan.hosts_used) + len(plan.drain) == 6
    assert plan.lower_bound <= len(plan.hosts_used) and 0 <= plan.gap < 1
    bins = {b.name: b for b in host_bins(history, END, 0.7)}
    load = usage.select("server", "cpu_p95", "memory_peak").rows_by_key("server")
    for host in plan.hosts_used:
        placed = [load[s][0] for s, h in plan.assignment.items() if h == host]
        assert sum(p[0] for p in placed) <= bins[host].cpu + 1e-6
        assert sum(p[1] for p in placed) <= bins[host].memory + 1
