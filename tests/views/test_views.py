"""The read models on small, exactly known data in a temporary SQLite store."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from core.kernel import units
from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.kernel.times import HOUR, MINUTE, TimeRange, TimeSpec
from core.storage.tsdb import Store, open_store
from core.views import Filters, counter_increase, health, hosts_in_scope, label_values, pct_delta, selector
from core.views import collectors as collectors_view
from core.views import performance as perf

NOW = int(time.time() * 1000) // MINUTE * MINUTE
Put = Callable[..., None]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(load_settings(database_url=f"sqlite:///{tmp_path}/p.db"))
    yield s  # type: ignore[misc]
    s.close()


@pytest.fixture
def put(store: Store) -> Put:
    """``put(metric, value_or_fn, minutes=60, every_s=60, **labels)``: one sample per ``every_s`` up to NOW."""

    def _put(
        metric: str,
        value: float | Callable[[int], float],
        minutes: int = 60,
        every_s: int = 60,
        end: int = NOW,
        **labels: object,
    ) -> None:
        n = minutes * 60 // every_s
        samples = []
        for i in range(n + 1):
            ts = end - (n - i) * every_s * 1000
            samples.append(
                Sample(metric, labels_of(**labels), ts, float(value(i) if callable(value) else value))
            )
        result = store.write(samples)
        assert not result.rejected, result.rejected
        store.run_rollups()  # steps of a minute and more read the rollups

    return _put


def last_hour(step: int = MINUTE) -> TimeRange:
    return TimeRange("1h", NOW - HOUR, NOW, step)


def host(
    put: Put,
    name: str,
    cpu: float = 0.3,
    mem: float = 0.4,
    disk: float = 0.5,
    up: float = 1.0,
    mount: str = "/",
) -> None:
    put("host_up", up, host=name)
    put("host_cpu_utilization_ratio", cpu, host=name)
    put("host_memory_utilization_ratio", mem, host=name)
    put("host_disk_utilization_ratio", disk, host=name, mountpoint=mount)


def server(
    put: Put,
    name: str,
    on: str,
    team: str = "t1",
    up: float = 1.0,
    ping: float = 0.02,
    restarts: Callable[[int], float] | float = 0.0,
) -> None:
    lb = {"server": name, "host": on, "team": team, "kind": "stdio", "user": "ada", "session_id": "s1"}
    put("mcp_server_up", up, **lb)
    put("mcp_client_operation_duration_seconds", ping, mcp_method_name="ping", **lb)
    put("mcp_client_operation_duration_seconds", ping * 2, mcp_method_name="tools/list", **lb)
    put("container_restarts_total", restarts, **lb)
    put("container_memory_working_set_bytes", 100.0, **lb)
    put("container_memory_limit_bytes", 1000.0, **lb)


# -- health ---------------------------------------------------------------------------------------
def test_a_host_at_95_percent_cpu_is_critical_with_that_reason(store: Store, put: Put) -> None:
    host(put, "busy", cpu=0.95)
    host(put, "calm", cpu=0.20)
    df = health.host_status(store, NOW)
    busy = df.row(by_predicate=pl.col("host") == "busy", named=True)
    assert busy["status"] == "critical"
    assert busy["reason"] == "CPU 95% > 90%"
    assert df.filter(pl.col("host") == "calm")["status"].item() == "ok"
    assert df["host"].to_list() == ["busy", "calm"]  # worst first


def test_disk_thresholds_name_the_mountpoint(store: Store, put: Put) -> None:
    host(put, "warm", disk=0.85, mount="/data")
    host(put, "full", disk=0.93, mount="/var")
    df = health.host_status(store, NOW)
    assert df.filter(pl.col("host") == "warm").select("status", "reason").row(0) == (
        "warning",
        "disk /data 85% > 80%",
    )
    assert df.filter(pl.col("host") == "full").select("status", "reason").row(0) == (
        "critical",
        "disk /var 93% > 90%",
    )


def test_a_down_host_and_a_silent_host_are_critical(store: Store, put: Put) -> None:
    host(put, "down", up=0.0)
    host(put, "silent")
    put("host_up", 1.0, minutes=10, end=NOW - 20 * MINUTE, host="gone")
    df = health.host_status(store, NOW)
    reasons = dict(zip(df["host"], df["reason"], strict=True))
    assert reasons["down"] == "host down"
    assert reasons["gone"] == "no data for 5 min"
    assert df.filter(pl.col("host") == "gone")["up"].item() is None
    assert reasons["silent"] == ""


def test_several_problems_are_all_reported_worst_first(store: Store, put: Put) -> None:
    host(put, "sick", cpu=0.85, mem=0.97)
    row = health.host_status(store, NOW).row(0, named=True)
    assert row["status"] == "critical"
    assert row["reason"] == "memory 97% > 95%; CPU 85% > 80%"


def test_server_status_down_slow_and_restarting(store: Store, put: Put) -> None:
    server(put, "ok", "h1")
    server(put, "dead", "h1", up=0.0)
    server(put, "slow", "h2", ping=0.4)
    server(put, "flappy", "h2", restarts=lambda i: (i + 10) // 20)  # restarts at minutes 10, 30 and 50
    df = health.server_status(store, NOW)
    by = {r["server"]: r for r in df.iter_rows(named=True)}
    assert (by["dead"]["status"], by["dead"]["reason"]) == ("critical", "server down")
    assert by["slow"]["status"] == "warning"
    assert by["slow"]["reason"].startswith("ping latency 400 ms > 250 ms")
    assert by["flappy"]["status"] == "warning"
    assert "restarted 3× in the last hour" in by["flappy"]["reason"]
    assert by["ok"]["status"] == "ok"
    assert by["ok"]["ping_s"] == pytest.approx(0.02)
    assert by["ok"]["memory_of_limit"] == pytest.approx(0.1)
    assert df["server"].to_list()[0] == "dead"
    assert health.status_counts(df) == {"ok": 1, "warning": 2, "critical": 1}


def test_team_filter_reaches_hosts_through_their_servers(store: Store, put: Put) -> None:
    host(put, "h1")
    host(put, "h2")
    server(put, "a", "h1", team="red")
    server(put, "b", "h2", team="blue")
    only_red = Filters(teams=("red",))
    assert hosts_in_scope(store, only_red) == ("h1",)
    assert health.host_status(store, NOW, only_red)["host"].to_list() == ["h1"]
    assert health.server_status(store, NOW, only_red)["server"].to_list() == ["a"]
    assert hosts_in_scope(store, Filters(hosts=("h2",), teams=("red",))) == ()
    assert health.host_status(store, NOW, Filters(hosts=("h2",), teams=("red",))).is_empty()
    assert hosts_in_scope(store, Filters()) is None


def test_filter_values_match_literally(store: Store, put: Put) -> None:
    host(put, "web.1")
    host(put, "webx1")
    host(put, "café")
    assert health.host_status(store, NOW, Filters(hosts=("web.1", "café")))["host"].sort().to_list() == [
        "café",
        "web.1",
    ]
    assert label_values(store, "host_up", "host") == ["café", "web.1", "webx1"]


def test_host_series_and_heatmap(store: Store, put: Put) -> None:
    host(put, "h1", cpu=0.5)
    put("host_disk_utilization_ratio", 0.9, host="h1", mountpoint="/data")
    store.run_rollups()
    tr = last_hour()
    cpu = health.host_series(store, tr, Filters(), "cpu")
    assert cpu.columns == ["ts", "host", "value"]
    assert cpu.height == 60
    assert cpu["value"].unique().to_list() == [0.5]
    disk = health.host_series(store, tr, Filters(), "disk")
    assert disk["value"].max() == pytest.approx(0.9)  # the fullest mount
    heat = health.utilization_heatmap(store, tr, Filters(), "cpu", columns=12)
    assert heat.columns == ["ts", "host", "value"]
    assert heat.height == 12


def test_network_rates_are_bytes_per_second_summed_over_devices(store: Store, put: Put) -> None:
    put("host_network_receive_bytes_total", lambda i: i * 60_000.0, host="h1", device="eth0")  # 1000 B/s
    put("host_network_receive_bytes_total", lambda i: i * 120_000.0, host="h1", device="eth1")  # 2000 B/s
    put("host_network_transmit_bytes_total", lambda i: i * 6_000.0, host="h1", device="eth0")
    df = health.host_network(store, last_hour(), Filters())
    rx = df.filter(pl.col("direction") == "receive")["value"]
    assert rx.min() == pytest.approx(3000.0)
    assert rx.max() == pytest.approx(3000.0)
    assert df.filter(pl.col("direction") == "transmit")["value"].mean() == pytest.approx(100.0)


def test_servers_up_series_counts_up_and_down(store: Store, put: Put) -> None:
    server(put, "a", "h1")
    server(put, "b", "h1", up=0.0)
    server(put, "c", "h2")
    df = health.servers_up_series(store, last_hour(), Filters())
    last = df.filter(pl.col("ts") == df["ts"].max())
    assert dict(zip(last["state"], last["servers"], strict=True)) == {"up": 2.0, "down": 1.0}


def test_server_latency_keeps_the_slowest(store: Store, put: Put) -> None:
    for i, name in enumerate(["a", "b", "c"]):
        server(put, name, "h1", ping=0.01 * (i + 1))
    df = health.server_latency(store, last_hour(), Filters(), "ping", top=2)
    assert sorted(df["server"].unique().to_list()) == ["b", "c"]


# -- counters -------------------------------------------------------------------------------------
def test_counter_rate_ignores_the_first_sample_and_survives_resets(store: Store, put: Put) -> None:
    # first seen at a large value inside the range (no spike), reset to 0 after 30 minutes
    put("c_total", lambda i: 1e9 + i * 60.0 if i < 30 else (i - 30) * 60.0, lab="x")
    df = counter_increase(store, selector("c_total"), last_hour(), ())
    assert df["rate"].max() == pytest.approx(1.0)
    # 60 samples in [start, end): the first has nothing to compare with, the reset adds 0
    assert df["increase"].sum() == pytest.approx(58 * 60.0)


def test_counter_rate_of_sparse_samples_is_spread_over_the_gap(store: Store, put: Put) -> None:
    put("c_total", lambda i: i * 300.0, minutes=120, every_s=300, lab="x")  # 1/s, sampled every 5 minutes
    df = counter_increase(store, selector("c_total"), last_hour(), ())
    assert df["rate"].to_list() == pytest.approx([1.0] * df.height)
    assert df["increase"].sum() == pytest.approx(3600.0)


def test_pct_delta() -> None:
    assert pct_delta(150, 100) == 50.0
    assert pct_delta(50, 100) == -50.0
    assert pct_delta(1, 0) is None
    assert pct_delta(None, 1) is None


# -- performance ----------------------------------------------------------------------------------
def tool(
    put: Put,
    name: str,
    rate: float,
    errors: float,
    p95: float,
    srv: str = "s1",
    minutes: int = 60,
    end: int = NOW,
) -> None:
    lb = {
        "server": srv,
        "host": "h1",
        "team": "t1",
        "gen_ai_tool_name": name,
        "mcp_method_name": "tools/call",
    }
    put("mcp_server_tool_calls_total", lambda i: i * 60 * rate, minutes=minutes, end=end, **lb)
    put("mcp_server_tool_errors_total", lambda i: i * 60 * rate * errors, minutes=minutes, end=end, **lb)
    for q, f in (("0.5", 0.5), ("0.95", 1.0), ("0.99", 2.0)):
        put("mcp_server_operation_duration_seconds", p95 * f, minutes=minutes, end=end, quantile=q, **lb)


def test_tool_buckets_rates_errors_and_quantiles(store: Store, put: Put) -> None:
    tool(put, "search", rate=2.0, errors=0.25, p95=0.3)
    tr = last_hour()
    b = perf.tool_buckets(store, tr, Filters())
    assert b.columns == [
        "ts",
        "server",
        "host",
        "team",
        perf.TOOL,
        "calls",
        "errors",
        "calls_rate",
        "errors_rate",
        "p50",
        "p95",
        "p99",
    ]
    s = perf.series(b, tr, ("server",))
    assert s["calls_per_s"].to_list() == pytest.approx([2.0] * s.height)
    assert s["error_ratio"].to_list() == pytest.approx([0.25] * s.height)
    assert s["p99"].to_list() == pytest.approx([0.6] * s.height)


def test_top_n_orders_slowest_and_most_failing_tools(store: Store, put: Put) -> None:
    tool(put, "fast", rate=5.0, errors=0.0, p95=0.05)
    tool(put, "slow", rate=1.0, errors=0.01, p95=2.0)
    tool(put, "mid", rate=1.0, errors=0.30, p95=0.5, srv="s2")
    tool(put, "flaky", rate=2.0, errors=0.10, p95=0.5, srv="s2")
    tr = last_hour()
    table = perf.tool_table(
        perf.tool_buckets(store, tr, Filters()), perf.tool_buckets(store, tr.previous(), Filters()), tr
    )
    assert perf.top_tools(table, "p95", n=3)[perf.TOOL].to_list() == [
        "slow",
        "flaky",
        "mid",
    ]  # tie broken by calls
    assert perf.top_tools(table, "error_ratio", n=2)[perf.TOOL].to_list() == ["mid", "flaky"]
    assert perf.top_tools(table, "p95", min_calls=10**6).is_empty()
    assert table[perf.TOOL].to_list()[0] == "fast"  # busiest first


def test_delta_against_the_previous_period(store: Store, put: Put) -> None:
    tr = last_hour()
    # previous hour: 1 call/s, 10 % errors, p95 1 s; this hour: 2 calls/s, 5 % errors, p95 0.5 s
    lb = {
        "server": "s1",
        "host": "h1",
        "team": "t1",
        "gen_ai_tool_name": "t",
        "mcp_method_name": "tools/call",
    }
    put(
        "mcp_server_tool_calls_total",
        lambda i: i * 60.0 if i <= 60 else 3600 + (i - 60) * 120.0,
        minutes=120,
        **lb,
    )
    put(
        "mcp_server_tool_errors_total",
        lambda i: i * 6.0 if i <= 60 else 360 + (i - 60) * 6.0,
        minutes=120,
        **lb,
    )
    for q, f in (("0.5", 0.5), ("0.95", 1.0), ("0.99", 2.0)):
        put(
            "mcp_server_operation_duration_seconds",
            lambda i, f=f: (1.0 if i < 60 else 0.5) * f,
            minutes=120,
            quantile=q,
            **lb,
        )
    store.run_rollups()
    cur, prev = perf.tool_buckets(store, tr, Filters()), perf.tool_buckets(store, tr.previous(), Filters())
    now, before = perf.summarize(cur, tr), perf.summarize(prev, tr.previous())
    assert now.calls_per_s == pytest.approx(2.0, rel=0.03)
    assert before.calls_per_s == pytest.approx(1.0, rel=0.03)
    delta = perf.compare(now, before)
    assert delta.calls_pct == pytest.approx(100.0, abs=4)
    assert delta.error_ratio_pp == pytest.approx(-5.0, abs=0.2)
    assert delta.p95_pct == pytest.approx(-50.0, abs=1)
    row = perf.tool_table(cur, prev, tr).row(0, named=True)
    assert row["calls_delta_pct"] == pytest.approx(100.0, abs=4)
    assert row["p95_delta_pct"] == pytest.approx(-50.0, abs=1)


def test_no_delta_when_the_previous_period_holds_under_half_the_data(store: Store, put: Put) -> None:
    """Calls started 10 minutes before the current hour: +35142% would mislead, so no change is shown."""
    lb = {
        "server": "s1",
        "host": "h1",
        "team": "t1",
        "gen_ai_tool_name": "t",
        "mcp_method_name": "tools/call",
    }
    put("mcp_server_tool_calls_total", lambda i: i * 60.0, minutes=70, **lb)
    store.run_rollups()
    tr = last_hour()
    cur, prev = perf.tool_buckets(store, tr, Filters()), perf.tool_buckets(store, tr.previous(), Filters())
    now, before = perf.summarize(cur, tr), perf.summarize(prev, tr.previous())
    assert now.calls > 0 and before.calls > 0 and before.samples < now.samples / 2
    delta = perf.compare(now, before)
    assert delta.calls_pct is None and delta.p95_pct is None and delta.error_ratio_pp is None
    assert delta.no_delta_because is not None and "under half" in delta.no_delta_because
    row = perf.tool_table(cur, prev, tr).row(0, named=True)
    assert row["calls_delta_pct"] is None and row["error_ratio_delta_pp"] is None


def test_group_quantiles_are_call_weighted(store: Store, put: Put) -> None:
    tool(put, "busy", rate=3.0, errors=0.0, p95=0.1)
    tool(put, "rare", rate=1.0, errors=0.0, p95=0.5)
    tr = last_hour()
    s = perf.summarize(perf.tool_buckets(store, tr, Filters()), tr)
    assert s.p95 == pytest.approx((3 * 0.1 + 1 * 0.5) / 4)


def test_drill_down_distribution_and_servers(store: Store, put: Put) -> None:
    tool(put, "a", rate=1.0, errors=0.0, p95=0.1)
    tool(put, "b", rate=1.0, errors=0.0, p95=0.2)
    tool(put, "c", rate=5.0, errors=0.0, p95=0.3, srv="s2")
    tr = last_hour()
    b = perf.tool_buckets(store, tr, Filters())
    assert perf.servers_of(b) == ["s2", "s1"]
    per_tool = perf.series(b.filter(pl.col("server") == "s1"), tr, (perf.TOOL,))
    assert sorted(per_tool[perf.TOOL].unique().to_list()) == ["a", "b"]
    dist = perf.latency_distribution(b, "p95", perf.TOOL)
    assert dist.group_by("group").agg(pl.col("value").mean()).sort("group")[
        "value"
    ].to_list() == pytest.approx([0.1, 0.2, 0.3])
    assert perf.tool_buckets(store, tr, Filters(servers=("s2",)))["server"].unique().to_list() == ["s2"]


def test_empty_store_gives_empty_frames_with_columns(store: Store) -> None:
    tr = TimeSpec("1h").resolve(NOW)
    assert health.host_status(store, NOW).columns[:3] == ["host", "status", "reason"]
    assert health.server_status(store, NOW).is_empty()
    assert health.host_series(store, tr, Filters(), "cpu").is_empty()
    assert health.host_network(store, tr, Filters()).is_empty()
    assert health.servers_up_series(store, tr, Filters()).is_empty()
    b = perf.tool_buckets(store, tr, Filters())
    assert b.is_empty()
    assert perf.tool_table(b, b, tr).is_empty()
    assert perf.summarize(b, tr).calls == 0


def test_call_rate_of_sparse_samples_is_not_inflated(store: Store, put: Put) -> None:
    lb = {
        "server": "s1",
        "host": "h1",
        "team": "t1",
        "gen_ai_tool_name": "t",
        "mcp_method_name": "tools/call",
    }
    put("mcp_server_tool_calls_total", lambda i: i * 240.0, minutes=120, every_s=120, **lb)  # 2/s every 2 min
    tr = TimeRange("1h", NOW - HOUR, NOW, 30_000)
    s = perf.series(perf.tool_buckets(store, tr, Filters()), tr, ("server",))
    assert s["calls_per_s"].to_list() == pytest.approx([2.0] * s.height)
    assert s["errors_per_s"].to_list() == pytest.approx([0.0] * s.height)
    assert perf.summarize(perf.tool_buckets(store, tr, Filters()), tr).calls_per_s == pytest.approx(2.0)


# -- collector health ---------------------------------------------------------------------------
def _report(**over: dict[str, object]) -> dict[str, dict[str, object]]:
    base: dict[str, object] = {
        "state": "up",
        "last_error": None,
        "last_success_ms": NOW - 10_000,
        "last_duration_s": 0.05,
        "interval_s": 15,
    }
    return {name: {**base, **fields} for name, fields in over.items()}


def test_collector_health_columns_ages_and_errors() -> None:
    report = _report(
        host={"partial_errors": {"net": "OSError: x", "disk": "PermissionError: y"}},
        prometheus={"state": "degraded", "last_error": "ConnectError: refused", "last_success_ms": None},
    )
    df = collectors_view.collector_health(report, NOW)
    assert df.schema == pl.Schema(collectors_view.COLLECTOR_SCHEMA)
    assert df["collector"].to_list() == ["prometheus", "host"]  # worst first
    host = df.row(1, named=True)
    assert host["state"] == "up"
    assert host["age_s"] == 10.0
    assert host["age"] == "10 s ago"
    assert host["last_success"].timestamp() * 1000 == NOW - 10_000
    assert host["error"] == "disk: PermissionError: y; net: OSError: x"
    prom = df.row(0, named=True)
    assert (prom["state"], prom["age"], prom["last_success"]) == ("degraded", "never", None)
    assert prom["error"] == "ConnectError: refused"


def test_collector_is_down_when_its_last_success_is_older_than_three_intervals() -> None:
    report = _report(
        fresh={"last_success_ms": NOW - 44_000},  # 2.9 intervals: still up
        stale={"last_success_ms": NOW - 46_000},  # 3.1 intervals: the daemon stopped
        old={"last_success_ms": NOW - 2 * HOUR, "state": "degraded", "last_error": "timeout"},
    )
    df = collectors_view.collector_health(report, NOW)
    states = dict(zip(df["collector"], df["state"], strict=True))
    assert states == {"fresh": "up", "stale": "down", "old": "down"}
    errors = dict(zip(df["collector"], df["error"], strict=True))
    assert errors["fresh"] is None
    assert errors["stale"] == (
        "no success for 46 s (over 3 x its 15 s interval): is `pulse collect` running?"
    )
    assert errors["old"].endswith("; timeout")  # the collector's own error is kept
    assert df.filter(pl.col("collector") == "old")["age"].item() == "2.0 h ago"


def test_collector_health_before_the_daemon_reports() -> None:
    df = collectors_view.collector_health({}, NOW)
    assert df.is_empty()
    assert df.schema == pl.Schema(collectors_view.COLLECTOR_SCHEMA)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, None),
        (0, "0 s ago"),
        (59, "59 s ago"),
        (600, "10 min ago"),
        (5400, "1.5 h ago"),
        (3 * 86400, "3.0 d ago"),
    ],
)
def test_ago(seconds: float | None, text: str | None) -> None:
    assert units.ago(seconds) == text


def test_a_server_without_ping_shows_its_server_discover_latency(store: Store) -> None:
    from core.views.health import server_status

    now = store.now_ms()
    lb = {"server": "modern", "host": "h1", "team": "t"}
    store.write(
        [
            Sample("mcp_server_up", labels_of(**lb), now - 1000, 1.0),
            Sample(
                "mcp_client_operation_duration_seconds",
                labels_of(mcp_method_name="server/discover", **lb),
                now - 1000,
                0.012,
            ),
        ]
    )
    (row,) = server_status(store, now).iter_rows(named=True)
    assert row["ping_s"] == 0.012 and row["tools_list_s"] is None
