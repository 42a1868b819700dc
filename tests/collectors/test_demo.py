"""Tests of the demo collector: determinism, continuity, sanity and the scripted incidents."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from collectors.base import Collector
from collectors.demo import INCIDENTS, DemoCollector, Incident, build_topology, incident_windows
from collectors.demo.signals import season, trend
from core.kernel.samples import Labels, Sample, now_ms
from core.kernel.settings import DemoSettings
from tests.collectors.conftest import Scheduled

WEEK_MS, DAY_MS, HOUR_MS, MIN_MS = 604_800_000, 86_400_000, 3_600_000, 60_000
START = 2959 * WEEK_MS  # Thursday 2026-09-17 00:00 UTC, a cycle boundary
STEP = 300_000
Key = tuple[str, Labels]


class Series:
    """One series of a backfill as arrays."""

    def __init__(self, points: list[tuple[int, float]]) -> None:
        self.ts = np.array([p[0] for p in points], dtype=np.int64)
        self.v = np.array([p[1] for p in points])

    def at(self, ts: int) -> float:
        return float(self.v[np.searchsorted(self.ts, ts)])

    def window(self, lo: int, hi: int) -> np.ndarray:
        return self.v[(self.ts >= lo) & (self.ts < hi)]


def find(week: dict[Key, Series], metric: str, **labels: str) -> Series:
    hits = [
        s for (m, lab), s in week.items() if m == metric and all((k, v) in lab for k, v in labels.items())
    ]
    assert len(hits) == 1, f"{metric} {labels}: {len(hits)} series"
    return hits[0]


@pytest.fixture(scope="module")
def demo() -> DemoCollector:
    return DemoCollector(DemoSettings(), clock=lambda: START / 1000)


@pytest.fixture(scope="module")
def batches(demo: DemoCollector) -> list[list[Sample]]:
    return list(demo.backfill(START, START + WEEK_MS, STEP))


@pytest.fixture(scope="module")
def week(batches: list[list[Sample]]) -> dict[Key, Series]:
    points: dict[Key, list[tuple[int, float]]] = defaultdict(list)
    for batch in batches:
        for s in batch:
            points[(s.metric, s.labels)].append((s.ts, s.value))
    return {k: Series(v) for k, v in points.items()}


def window_of(kind: str) -> tuple[Incident, int, int]:
    found = [w for w in incident_windows(START, START + WEEK_MS) if w[0].kind == kind]
    assert len(found) == 1
    return found[0]


def targets(demo: DemoCollector, inc: Incident) -> tuple[str, str | None, str | None]:
    topo = demo.topology
    h, s, j = topo.target_of(inc)
    return (
        topo.hosts[h].name,
        None if s is None else topo.servers[s].name,
        None if j is None else topo.tools[j][1],
    )


def at_clock(settings: DemoSettings, ts_ms: int) -> list[Sample]:
    return DemoCollector(settings, clock=lambda: ts_ms / 1000).collect()


# --- topology and determinism -------------------------------------------------------------


def test_topology_is_deterministic_and_shaped() -> None:
    settings = DemoSettings()
    topo = build_topology(settings)
    assert topo == build_topology(settings)
    assert [h.name for h in topo.hosts] == [f"host-0{i}" for i in range(1, 7)]
    assert len(topo.servers) == settings.hosts * settings.servers_per_host
    assert len({s.name for s in topo.servers}) == len(topo.servers)
    for s in topo.servers:
        assert s.user in topo.users[s.team] and s.tools and s.cpu_request < s.cpu_limit
        assert s.memory_request < s.memory_limit
    profiles = [s.profile for s in topo.servers]
    assert profiles.count("over") == 9 and profiles.count("under") == 2
    other = build_topology(DemoSettings(seed=7))
    assert [s.name for s in other.servers] != [s.name for s in topo.servers]


def test_same_seed_same_samples_other_seed_differs() -> None:
    ts = START + 10 * HOUR_MS
    first, again = at_clock(DemoSettings(), ts), at_clock(DemoSettings(), ts)
    assert first == again
    other = at_clock(DemoSettings(seed=43), ts)
    assert {(s.metric, s.value) for s in other} != {(s.metric, s.value) for s in first}


def test_collector_contract_and_alignment(scheduled: Scheduled) -> None:
    demo = DemoCollector(DemoSettings(interval_s=15), clock=lambda: 1_790_000_007.9)
    assert isinstance(demo, Collector) and demo.name == "demo" and demo.interval == 15
    samples = demo.collect()
    assert {s.ts for s in samples} == {1_790_000_007_900 // 15_000 * 15_000}
    assert demo.health.ok and demo.health.last_success_ms is None  # the scheduler books, not collect()
    assert len(samples) == demo.series_count()
    before = now_ms()
    assert scheduled(demo) == samples  # pure in (seed, time)
    last = demo.health.last_success_ms
    assert demo.health.ok and last is not None and before <= last <= now_ms()


def test_a_failing_model_is_booked_by_the_scheduler_in_the_collectors_words(
    scheduled: Scheduled, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = DemoCollector(DemoSettings(interval_s=15), clock=lambda: 1_790_000_007.9)

    def broken(_seconds: object) -> None:
        raise ValueError("bad seed")

    monkeypatch.setattr(demo._model, "evaluate", broken)
    assert scheduled(demo) == [] and isinstance(scheduled.error.__cause__, ValueError)
    ts = 1_790_000_007_900 // 15_000 * 15_000
    assert demo.health.last_error == f"demo model failed at {ts}: ValueError('bad seed')"
    assert not demo.health.ok and demo.health.consecutive_failures == 1


@pytest.mark.parametrize("kind", [i.kind for i in INCIDENTS] + ["quiet"])
def test_backfill_equals_collect_at_the_same_time(kind: str) -> None:
    settings = DemoSettings()
    # 45 s past the minute: counters interpolate inside a grid cell
    when = (START + 3 * HOUR_MS if kind == "quiet" else window_of(kind)[1] + 5 * MIN_MS) + 45_000
    live = at_clock(settings, when)
    for step in (15_000, 120_000, 3_600_000):
        demo = DemoCollector(settings)
        history = [
            s for b in demo.backfill(when - 7 * step, when + 2 * step, step) for s in b if s.ts == when
        ]
        assert history == live, f"step {step}"


def test_values_do_not_depend_on_backfill_start() -> None:
    demo = DemoCollector(DemoSettings())
    a = [s for b in demo.backfill(START, START + 2 * DAY_MS, 600_000) for s in b if s.ts >= START + DAY_MS]
    b = [s for b in demo.backfill(START + DAY_MS, START + 2 * DAY_MS, 600_000) for s in b]
    assert a == b and len(a) > 0


# --- shape of the backfill ----------------------------------------------------------------


def test_series_count_in_expected_range(demo: DemoCollector) -> None:
    topo = demo.topology
    expected = 12 * len(topo.hosts) + 14 * len(topo.servers) + 5 * len(topo.tools) + 2 * len(topo.teams)
    assert demo.series_count() == expected
    assert 600 <= demo.series_count() <= 900
    bigger = DemoCollector(DemoSettings(hosts=12, servers_per_host=10))
    assert bigger.series_count() > 2 * demo.series_count()


def test_batches_are_time_ordered_and_cover_the_range(batches: list[list[Sample]]) -> None:
    stamps = [s.ts for b in batches for s in b]
    assert stamps == sorted(stamps)
    assert sorted(set(stamps)) == list(range(START, START + WEEK_MS, STEP))
    assert all(b[-1].ts - b[0].ts <= 6 * HOUR_MS for b in batches) and len(batches) >= 7


def test_every_series_present_in_each_tick(demo: DemoCollector, batches: list[list[Sample]]) -> None:
    inc, down_lo, down_hi = window_of("host_down")
    host = targets(demo, inc)[0]
    per_tick: dict[int, list[Sample]] = defaultdict(list)
    for b in batches:
        for s in b:
            per_tick[s.ts].append(s)
    all_keys = {(s.metric, s.labels) for s in demo.collect()}
    assert len(all_keys) == demo.series_count()
    for ts, samples in per_tick.items():
        keys = {(s.metric, s.labels) for s in samples}
        assert len(keys) == len(samples)
        if down_lo <= ts < down_hi:
            missing = all_keys - keys
            assert missing and all(dict(lab)["host"] == host for _, lab in missing)
            assert not any(m in ("host_up", "mcp_server_up") for m, _ in missing)
        else:
            assert keys == all_keys, ts


def test_values_are_sane(week: dict[Key, Series]) -> None:
    for (metric, labels), s in week.items():
        assert np.isfinite(s.v).all() and (s.v >= 0).all(), metric
        if metric.endswith("_ratio"):
            assert (s.v <= 1).all() and (np.round(s.v, 4) == s.v).all(), metric
        if metric.endswith(("_bytes", "_total")) or metric.startswith("platform_"):
            assert (np.round(s.v) == s.v).all(), metric
        if metric.endswith("_seconds"):
            assert (s.v > 0).all() and (s.v < 60).all() and (np.round(s.v, 4) == s.v).all(), metric
        if metric == "container_cpu_usage_cores":
            assert (s.v <= find(week, "container_cpu_limit_cores", **dict(labels)).v.max()).all()


def test_quantiles_strictly_ordered(demo: DemoCollector, week: dict[Key, Series]) -> None:
    for i, tool in demo.topology.tools:
        server = demo.topology.servers[i].name
        q = [
            find(
                week,
                "mcp_server_operation_duration_seconds",
                server=server,
                gen_ai_tool_name=tool,
                quantile=x,
            ).v
            for x in ("0.5", "0.95", "0.99")
        ]
        assert (q[0] < q[1]).all() and (q[1] < q[2]).all()
        assert np.median(q[1] / q[0]) > 1.5 and np.median(q[2] / q[1]) > 1.2


def test_counters_monotonic_except_at_resets(demo: DemoCollector, week: dict[Key, Series]) -> None:
    schedule, topo = demo._model.schedule, demo.topology
    servers = {s.name: i for i, s in enumerate(topo.servers)}
    for (metric, labels), s in week.items():
        if not metric.endswith("_total"):
            continue
        drops = set(np.nonzero(np.diff(s.v) < 0)[0])
        lab, t = dict(labels), s.ts // 1000
        if metric == "mcp_server_deploys_total":
            assert not drops
            continue
        if metric.startswith("host_"):
            resets = schedule.last_boot(t)[topo.host_index(lab["host"])]
        elif metric == "container_restarts_total":
            resets = schedule.new_container(t)[servers[lab["server"]]]
            oom_killed = topo.servers[servers[lab["server"]]].profile == "under"  # crash-loops at busy hours
            assert s.v.max() <= (40 if oom_killed else 2)
        else:
            resets = schedule.last_reset(t)[servers[lab["server"]]]
        assert drops <= set(np.nonzero(np.diff(resets))[0]), (metric, labels)
        assert len(drops) <= 12
        if metric == "mcp_server_tool_calls_total" and not topo.servers[servers[lab["server"]]].idle:
            assert len(drops) >= 6, "daily container recycling resets the call counters"


def test_seasonality_and_trend() -> None:
    t = (START // 1000 + np.array([14, 3, 2 * 24 + 14]) * 3600).astype(np.int64)  # Thu 14h, Thu 3h, Sat 14h
    busy, night, weekend = season(t)
    assert busy > 3 * night and busy > 2 * weekend
    weekly = trend(np.arange(START // 1000, START // 1000 + 60 * 86400, 7 * 86400, dtype=np.int64))
    assert (np.diff(weekly) != 0).all() and 0.7 < weekly.min() < weekly.max() < 1.4
    growth = weekly[1] / weekly[0] - 1
    assert 0.01 < growth < 0.04
    demo = DemoCollector(DemoSettings())
    users: dict[int, float] = defaultdict(float)
    for batch in demo.backfill(START, START + 3 * DAY_MS, HOUR_MS):
        for x in batch:
            if x.metric == "platform_active_users":
                users[x.ts] += x.value
    assert users[START + 14 * HOUR_MS] > 2 * users[START + 3 * HOUR_MS]
    assert users[START + 14 * HOUR_MS] > 2 * users[START + 62 * HOUR_MS]


# --- scripted incidents --------------------------------------------------------------------


def test_incident_windows_repeat_weekly_and_fit_any_week() -> None:
    assert {i.kind for i in INCIDENTS} == {
        "memory_leak",
        "latency_regression",
        "disk_filling",
        "error_spike",
        "host_down",
    }
    for start in (START, START + 123_456_789, START + 3 * DAY_MS + 17 * MIN_MS, 0):
        windows = incident_windows(start, start + WEEK_MS)
        starts = [w for w in windows if start <= w[1] < start + WEEK_MS]
        assert sorted(w[0].kind for w in starts) == sorted(i.kind for i in INCIDENTS)
        assert all(w[2] - w[1] == w[0].duration_s * 1000 and w[2] > start for w in windows)
    cycle = incident_windows(START, START + WEEK_MS)
    assert len(cycle) == len(INCIDENTS) and all(lo >= START and hi <= START + WEEK_MS for _, lo, hi in cycle)
    later = incident_windows(START + 5 * WEEK_MS, START + 6 * WEEK_MS)
    assert [lo - START for _, lo, _ in cycle] == [lo - START - 5 * WEEK_MS for _, lo, _ in later]
    assert [w[1] for w in incident_windows(START, START + WEEK_MS, seed=7)] != [w[1] for w in cycle]


def test_memory_leak_grows_to_limit_then_restarts(demo: DemoCollector, week: dict[Key, Series]) -> None:
    inc, lo, hi = window_of("memory_leak")
    server = targets(demo, inc)[1]
    assert server is not None
    ws = find(week, "container_memory_working_set_bytes", server=server)
    limit = find(week, "container_memory_limit_bytes", server=server).v[0]
    restarts = find(week, "container_restarts_total", server=server)
    assert ws.at(lo) < 0.6 * limit and ws.at(hi - STEP) > 0.9 * limit and ws.at(hi) < 0.6 * limit
    assert (np.diff(ws.window(lo, hi)) > -0.02 * limit).all()
    assert restarts.at(hi) == restarts.at(hi - STEP) + 1
    for (metric, labels), calls in week.items():
        if metric == "mcp_server_tool_calls_total" and dict(labels)["server"] == server:
            assert calls.at(hi - STEP) > 0 and calls.at(hi) == 0, "the restarted process counts from zero"


def test_latency_regression_after_deploy(demo: DemoCollector, week: dict[Key, Series]) -> None:
    inc, deploy, fixed = window_of("latency_regression")
    server = targets(demo, inc)[1]
    assert server is not None
    deploys = find(week, "mcp_server_deploys_total", server=server)
    assert deploys.at(deploy) == deploys.at(deploy - STEP) + 1
    tools = {
        dict(lab)["gen_ai_tool_name"]
        for (m, lab) in week
        if m == "mcp_server_tool_calls_total" and dict(lab)["server"] == server
    }
    for tool in tools:
        for q in ("0.95", "0.99"):
            lat = find(
                week,
                "mcp_server_operation_duration_seconds",
                server=server,
                gen_ai_tool_name=tool,
                quantile=q,
            )
            before, after = lat.window(deploy - 2 * HOUR_MS, deploy), lat.window(deploy, deploy + 2 * HOUR_MS)
            assert after.mean() > 2 * before.mean()
            assert lat.window(fixed - HOUR_MS, fixed).mean() > 2 * lat.window(fixed, fixed + HOUR_MS).mean()


def test_disk_filling_climbs_toward_full(demo: DemoCollector, week: dict[Key, Series]) -> None:
    inc, lo, hi = window_of("disk_filling")
    util = find(week, "host_disk_utilization_ratio", host=targets(demo, inc)[0])
    assert util.window(lo, hi).max() > 0.9 and util.at(lo) < 0.8 and util.at(hi) < 0.8
    assert (np.diff(util.window(lo, hi)) > -0.005).all()


def increase(s: Series, lo: int, hi: int) -> float:
    """Counter increase over [lo, hi] with resets handled like Prometheus' increase()."""
    v = s.v[(s.ts >= lo) & (s.ts <= hi)]
    d = np.diff(v)
    return float(np.where(d < 0, v[1:], d).sum())


def test_error_spike_on_one_tool(demo: DemoCollector, week: dict[Key, Series]) -> None:
    inc, lo, hi = window_of("error_spike")
    _, server, tool = targets(demo, inc)
    assert server is not None and tool is not None
    calls = find(week, "mcp_server_tool_calls_total", server=server, gen_ai_tool_name=tool)
    errors = find(week, "mcp_server_tool_errors_total", server=server, gen_ai_tool_name=tool)
    assert increase(errors, lo, hi) / increase(calls, lo, hi) > 0.2
    day_before = (lo - DAY_MS, hi - DAY_MS)
    assert increase(errors, *day_before) / max(increase(calls, *day_before), 1) < 0.1


def test_host_down_stops_host_and_its_servers(demo: DemoCollector, week: dict[Key, Series]) -> None:
    inc, lo, hi = window_of("host_down")
    host = targets(demo, inc)[0]
    up = find(week, "host_up", host=host)
    assert (up.window(lo, hi) == 0).all() and len(up.window(lo, hi)) == (hi - lo) // STEP
    assert up.v.sum() == len(up.v) - (hi - lo) // STEP
    servers = [s.name for s in demo.topology.servers if s.host == host]
    for server in servers:
        assert (find(week, "mcp_server_up", server=server).window(lo, hi) == 0).all()
        cpu = find(week, "container_cpu_usage_cores", server=server)
        assert len(cpu.window(lo, hi)) == 0 and len(cpu.window(hi, hi + HOUR_MS)) > 0
        assert find(week, "container_restarts_total", server=server).at(hi) >= 1
    rx = find(week, "host_network_receive_bytes_total", host=host)
    assert rx.at(hi) < rx.at(lo - STEP) and len(rx.window(lo, hi)) == 0


def test_provisioning_profiles_visible(demo: DemoCollector, week: dict[Key, Series]) -> None:
    over = under = 0
    for s in demo.topology.servers:
        usage = find(week, "container_cpu_usage_cores", server=s.name).v / s.cpu_request
        memory = find(week, "container_memory_working_set_bytes", server=s.name).v / s.memory_request
        if s.profile == "over":
            over += bool(usage.mean() < 0.3 and np.quantile(usage, 0.95) < 0.25 and memory.max() < 0.3)
        elif s.profile == "under":
            under += bool(memory.mean() > 1.0 and np.quantile(usage, 0.95) > 1.0)
        else:
            assert np.quantile(usage, 0.95) > 0.3, s.name
    assert over >= 0.2 * len(demo.topology.servers) and under == 2
