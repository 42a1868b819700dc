"""The prometheus source against the real Debian Prometheus scraping the real node-exporter.

Gap backfill is shown twice: Prometheus stopped and started again (its data survives on disk), and
the network to it cut and restored (TcpProxy; Prometheus keeps scraping, so the whole gap is
filled from its data).
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from collectors.host import HostCollector
from collectors.prometheus import PrometheusCollector, strip_port
from core.kernel.errors import CollectorError
from core.kernel.samples import Sample
from core.kernel.settings.sources.prometheus import PrometheusSource, PromQuery
from tests.collectors.conftest import Scheduled, TickClock
from tests.promstack import PROMETHEUS, NodeExporter, Prometheus, free_port, require_binary
from tests.tcpproxy import TcpProxy

HOST = {"instance": "host"}
MEM = PromQuery(
    metric="host_memory_available_bytes",
    promql="node_memory_MemAvailable_bytes",
    rename=HOST,
    keep=["host"],
)
RX = PromQuery(
    metric="host_network_receive_bytes_total",
    promql='node_network_receive_bytes_total{device!="lo"}',
    rename=HOST,
    keep=["host", "device"],
)


@pytest.fixture(scope="module")
def shared_prometheus(
    node_exporter: NodeExporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """One Prometheus for the tests that only read from it (the restart test takes its own)."""
    require_binary(PROMETHEUS, "prometheus")
    prom = Prometheus(tmp_path_factory.mktemp("prometheus"), [f"127.0.0.1:{node_exporter.port}"])
    prom.start()
    prom.wait_for_data('up{job="node"} == 1')
    yield prom
    prom.stop()


def source(url: str, **kw: object) -> PrometheusSource:
    base: dict[str, object] = {"name": "prom", "url": url, "interval_s": 1, "timeout_s": 2}
    return PrometheusSource.model_validate(base | kw)


def by_metric(samples: list[Sample], metric: str) -> list[Sample]:
    return [s for s in samples if s.metric == metric]


def prom_range(url: str, promql: str, start_ms: int, end_ms: int, step_ms: int) -> dict[int, float]:
    """Straight from Prometheus' HTTP API (not through the collector): ms -> value of one series."""
    q = urllib.parse.urlencode(
        {"query": promql, "start": start_ms / 1000, "end": end_ms / 1000, "step": step_ms / 1000}
    )
    with urllib.request.urlopen(f"{url}/api/v1/query_range?{q}", timeout=5) as resp:
        (series,) = json.load(resp)["data"]["result"]
    return {round(float(t) * 1000): float(v) for t, v in series["values"]}


def assert_grid(ts: list[int], step_ms: int) -> None:
    assert ts == sorted(set(ts)), "timestamps repeat or go back"
    gaps = Counter(b - a for a, b in zip(ts, ts[1:], strict=False))
    assert set(gaps) == {step_ms}, f"gaps between points: {gaps}"


def tick(c: PrometheusCollector, at_least_s: float = 1.0) -> list[Sample]:
    """One scheduler tick: wait an interval, then collect."""
    time.sleep(at_least_s)
    return c.collect()


def test_port_is_stripped_from_instance() -> None:
    assert strip_port("10.0.0.5:9100") == "10.0.0.5"
    assert strip_port("node-1.example:9100") == "node-1.example"
    assert strip_port("[2001:db8::1]:9100") == "2001:db8::1"
    assert strip_port("2001:db8::1") == "2001:db8::1"  # bare IPv6: no port to strip
    assert strip_port("node-1") == "node-1"


def test_default_mapping_reads_node_exporter_as_the_host_collector_names_it(
    shared_prometheus: Prometheus, scheduled: Scheduled
) -> None:
    shared_prometheus.wait_for_data("rate(node_cpu_seconds_total[2m])")  # two scrapes: rate() has a value
    clock = TickClock()
    c = PrometheusCollector(
        source(shared_prometheus.url, backfill_max_s=0, labels={"site": "lab"}), clock=clock
    )
    samples = scheduled(c)
    assert c.health.ok and c.health.state == "up" and c.health.extra["partial_errors"] == {}
    assert len({s.ts for s in samples}) == 1 and clock.now_ms == samples[0].ts  # time = now
    names = {s.metric for s in samples}
    host_names = {
        "host_up",
        "host_cpu_utilization_ratio",
        "host_cpu_core_utilization_ratio",
        "host_load1",
        "host_memory_total_bytes",
        "host_memory_available_bytes",
        "host_memory_used_bytes",
        "host_memory_utilization_ratio",
        "host_disk_total_bytes",
        "host_disk_used_bytes",
        "host_disk_utilization_ratio",
        "host_network_receive_bytes_total",
        "host_network_transmit_bytes_total",
    }
    assert host_names <= names
    assert not {n for n in names if n.startswith("container_")}  # no cAdvisor here: nothing, no error
    # instance 127.0.0.1:<port> -> host 127.0.0.1; the source's labels on every sample
    assert {dict(s.labels)["host"] for s in samples} == {"127.0.0.1"}
    assert all(dict(s.labels)["site"] == "lab" for s in samples)
    (total,) = by_metric(samples, "host_memory_total_bytes")
    assert total.value == psutil.virtual_memory().total
    (up,) = by_metric(samples, "host_up")
    assert up.value == 1
    (cpu,) = by_metric(samples, "host_cpu_utilization_ratio")
    assert 0 <= cpu.value <= 1
    assert len(by_metric(samples, "host_cpu_core_utilization_ratio")) == psutil.cpu_count()
    assert "/" in {dict(s.labels)["mountpoint"] for s in by_metric(samples, "host_disk_total_bytes")}

    # same names and label keys as the host collector, so pages and rules work on either
    host = HostCollector(1)
    host.collect()
    time.sleep(0.2)
    psutil_keys = {s.metric: {k for k, _ in s.labels} for s in host.collect()}
    for s in samples:
        assert s.metric in psutil_keys, s.metric
        assert {k for k, _ in s.labels} - {"site"} == psutil_keys[s.metric], s


def test_first_connect_backfills_then_instant_queries_follow_without_duplicates(
    shared_prometheus: Prometheus,
) -> None:
    time.sleep(3)  # a few seconds of scrapes to read back
    clock = TickClock()
    c = PrometheusCollector(source(shared_prometheus.url, backfill_max_s=30, queries=[MEM, RX]), clock=clock)
    first = c.collect()
    now_ms = clock.now_ms
    mem = [s.ts for s in by_metric(first, MEM.metric)]
    assert_grid(mem, 1000)
    assert mem[-1] == now_ms and now_ms - 30_000 <= mem[0] <= now_ms - 3000  # back to the first scrape
    assert c.health.extra["last_backfill"]["samples"] == len(first)
    seen = Counter((s.metric, s.labels, s.ts) for s in first)
    mem_ts = list(mem)
    for _ in range(3):
        more = tick(c)
        assert {s.ts for s in more} == {clock.now_ms}  # instant queries, at now
        seen.update((s.metric, s.labels, s.ts) for s in more)
        mem_ts += [s.ts for s in by_metric(more, MEM.metric)]
    assert max(seen.values()) == 1, "a sample was collected twice"
    assert mem_ts == sorted(mem_ts)
    assert c.health.extra["last_backfill"]["to_ms"] == now_ms  # no further backfill


def test_a_prometheus_restart_is_backfilled(prometheus: Prometheus, scheduled: Scheduled) -> None:
    """Health as the real scheduler books it; ``clock`` tells each tick's time (read once per tick)."""
    clock = TickClock()
    c = PrometheusCollector(source(prometheus.url, backfill_max_s=600, queries=[MEM, RX]), clock=clock)
    c.collect()
    last_ok = tick(c)[0].ts

    prometheus.stop()
    stopped_ms = int(time.time() * 1000)
    for failures in (1, 2, 3):
        time.sleep(0.7)
        assert scheduled(c) == [] and isinstance(scheduled.error, CollectorError)
        err = str(scheduled.error)
        assert f"cannot connect to {prometheus.url}" in err and "Connection refused" in err
        assert c.health.consecutive_failures == failures and c.health.state in ("degraded", "down")
    assert c.health.state == "down"
    assert "check the url and that Prometheus is running" in (c.health.last_error or "")

    prometheus.start()
    prometheus.wait_for_data("node_memory_MemAvailable_bytes")
    started_ms = int(time.time() * 1000)
    time.sleep(1.5)
    after = scheduled(c)
    now_ms = clock.now_ms
    assert c.health.ok and c.health.last_success_ms is not None and c.health.state == "up"
    mem = by_metric(after, MEM.metric)
    ts = [s.ts for s in mem]
    assert_grid(ts, 1000)
    # from the first point after the last one collected, through the outage, to now
    assert last_ok < ts[0] <= last_ok + 1000 and ts[-1] == now_ms
    assert ts[0] <= stopped_ms + 1000 and ts[-1] > started_ms  # the outage lies inside
    # exactly what Prometheus holds for those times
    assert {s.ts: s.value for s in mem} == prom_range(prometheus.url, MEM.promql, ts[0], now_ms, 1000)
    assert len(by_metric(after, RX.metric)) >= len(ts)  # every network device, same grid
    assert c.health.extra["last_backfill"] == {"from_ms": ts[0], "to_ms": now_ms, "samples": len(after)}


def test_a_network_cut_is_backfilled_with_the_data_prometheus_scraped_meanwhile(
    shared_prometheus: Prometheus,
) -> None:
    proxy = TcpProxy(("127.0.0.1", shared_prometheus.port))
    proxy.start()
    try:
        clock = TickClock()
        c = PrometheusCollector(
            source(f"http://127.0.0.1:{proxy.port}", backfill_max_s=600, queries=[MEM], timeout_s=1),
            clock=clock,
        )
        c.collect()
        last_ok = tick(c)[0].ts
        proxy.cut()
        for _ in range(4):
            with pytest.raises(CollectorError, match="cannot connect to"):
                tick(c, 0.8)
        proxy.start()  # the same port again
        filled = tick(c, 0.5)
    finally:
        proxy.cut()
    now_ms = clock.now_ms
    ts = [s.ts for s in filled]
    assert_grid(ts, 1000)
    assert last_ok < ts[0] <= last_ok + 1000 and ts[-1] == now_ms
    assert len(ts) >= 4  # the whole cut, one point a second
    # every point from Prometheus' own data (read directly, not through the proxy)
    assert {s.ts: s.value for s in filled} == prom_range(
        shared_prometheus.url, MEM.promql, ts[0], now_ms, 1000
    )


def test_a_long_backfill_is_split_in_windows_of_11000_points(
    shared_prometheus: Prometheus, scheduled: Scheduled
) -> None:
    from prometheus_api_client import PrometheusConnect

    windows: list[tuple[float, float, str]] = []

    class Recording(PrometheusConnect):  # the real client, its range calls noted
        def custom_query_range(self, query: str, start_time: Any, end_time: Any, step: str, **kw: Any) -> Any:
            windows.append((float(kw["params"]["start"]), float(kw["params"]["end"]), step))
            return super().custom_query_range(query, start_time, end_time, step, **kw)

    clock = TickClock()
    c = PrometheusCollector(
        source(shared_prometheus.url, backfill_max_s=25_000, queries=[MEM]), connect=Recording, clock=clock
    )
    samples = scheduled(c)
    assert c.health.ok and c.health.state == "up"
    points = [round((end - start) / float(step)) + 1 for start, end, step in windows]
    assert points == [11_000, 11_000, 3001]  # 25,001 points; Prometheus refuses more than 11,000
    assert all(round(windows[i][1] + 1, 3) == windows[i + 1][0] for i in range(2))  # one grid
    assert windows[-1][1] * 1000 == clock.now_ms == samples[-1].ts  # ending at now


def test_a_backfill_larger_than_the_deadline_resumes_at_the_next_tick(shared_prometheus: Prometheus) -> None:
    copy = MEM.model_copy(update={"metric": "host_memory_available_bytes_copy"})
    c = PrometheusCollector(source(shared_prometheus.url, backfill_max_s=20, queries=[MEM, RX, copy]))
    c.deadline_s = c.cfg.timeout_s + 1.0  # leaves a budget of one request per tick
    time.sleep(4)  # some history to backfill
    got: list[Sample] = []
    for n, q in enumerate([MEM, RX, copy]):  # each in turn: the one left out first goes first
        samples = tick(c, 0.3 if n else 0)
        assert {s.metric for s in samples} == {q.metric} and c.health.state == "up"
        assert q.metric not in c.health.extra["backfill_pending_s"]
        assert len(c.health.extra["backfill_pending_s"]) == 2
        got += samples
    for q in (MEM, RX, copy):  # every query backfilled (none starved by the others)
        ts = sorted({s.ts for s in got if s.metric == q.metric})
        assert len(ts) >= 4
        assert_grid(ts, 1000)
    c.deadline_s = c.cfg.deadline_s
    assert {s.metric for s in c.collect()} == {MEM.metric, RX.metric, copy.metric}
    assert c.health.extra["backfill_pending_s"] == {}


def test_nan_and_inf_are_dropped_and_counted(shared_prometheus: Prometheus) -> None:
    queries = [
        MEM,
        PromQuery(metric="nan_scalar", promql="0/0"),
        PromQuery(metric="inf_vector", promql="node_load1 / 0"),
        PromQuery(metric="minus_inf", promql="-node_memory_MemTotal_bytes / 0"),
        PromQuery(metric="a_scalar", promql="vector(1) * 0 + scalar(vector(42))"),
    ]
    c = PrometheusCollector(source(shared_prometheus.url, backfill_max_s=0, queries=queries))
    samples = c.collect()
    assert {s.metric for s in samples} == {MEM.metric, "a_scalar"}
    assert by_metric(samples, "a_scalar")[0].value == 42
    assert c.health.extra["dropped_nonfinite_total"] == 3 and c.health.state == "up"


def test_a_bad_query_fails_alone_and_the_source_is_degraded(
    shared_prometheus: Prometheus, scheduled: Scheduled
) -> None:
    bad = PromQuery(metric="broken_metric", promql="rate(node_load1[")
    c = PrometheusCollector(source(shared_prometheus.url, backfill_max_s=0, queries=[MEM, bad, RX]))
    samples = scheduled(c)
    assert {s.metric for s in samples} == {MEM.metric, RX.metric}
    assert c.health.ok and c.health.state == "degraded"
    (reason,) = c.health.extra["partial_errors"].values()
    assert list(c.health.extra["partial_errors"]) == ["broken_metric"]
    assert reason.startswith("Prometheus refused the query (HTTP 400) bad_data: ")
    assert "parse error" in reason and "fix this query's promql" in reason

    only_bad = PrometheusCollector(source(shared_prometheus.url, queries=[bad, bad]))
    assert scheduled(only_bad) == [] and isinstance(scheduled.error, CollectorError)
    err = str(scheduled.error)
    assert "all 2 queries failed; the first, broken_metric#1: Prometheus refused the query" in err
    assert not only_bad.health.ok and only_bad.health.last_error == err


def test_pulse_sources_test_against_prometheus_and_a_dead_port(
    shared_prometheus: Prometheus,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from core.cli import main

    dead = f"http://127.0.0.1:{free_port()}"
    sources = [
        {"kind": "prometheus", "name": "prom", "url": shared_prometheus.url, "backfill_max_s": 0},
        {"kind": "prometheus", "name": "gone", "url": dead, "timeout_s": 2},
    ]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PULSE_SOURCES", json.dumps(sources))
    assert main(["sources", "test", "prom"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("prom (prometheus): OK in ") and " samples\n" in out
    assert 'host_memory_total_bytes{host="127.0.0.1"}' in out or "... and" in out
    assert "host_" in out

    t0 = time.monotonic()
    assert main(["sources", "test", "gone"]) == 1
    out = capsys.readouterr().out
    assert time.monotonic() - t0 < 2  # refused at once: no retries inside a tick
    assert out.startswith("gone (prometheus): FAILED after ")
    assert f"CollectorError: prometheus source 'gone': cannot connect to {dead}" in out
    assert "Connection refused" in out
