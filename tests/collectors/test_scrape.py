"""The scrape collector against real targets: node-exporter's /metrics and Pulse's own, the
``pulse sources test`` command, and a failing scrape beside healthy collectors in the scheduler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from collectors.base import Health
from collectors.scrape import ScrapeCollector, ScrapeError
from core.kernel.histogram import histogram_quantile
from core.kernel.samples import Sample, labels_of, now_ms
from core.kernel.settings import load_settings
from core.kernel.settings.sources.scrape import ScrapeSource
from core.runtime.scheduler import PulseScheduler
from core.runtime.selfmetrics import SelfMetrics, stop_server
from core.runtime.spool import BufferedWriter
from core.storage.tsdb.ingest import key_problem
from core.storage.tsdb.store import open_store
from tests.promstack import NodeExporter, free_port


def by_metric(samples: list[Sample]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for s in samples:
        out.setdefault(s.metric, []).append(s)
    return out


def test_node_exporter_metrics(node_exporter: NodeExporter) -> None:
    cfg = ScrapeSource(name="node", url=f"{node_exporter.url}/metrics", labels={"host": "web-1"})
    c = ScrapeCollector(cfg)
    samples = c.collect()
    m = by_metric(samples)
    assert m["pulse_scrape_up"][0].value == 1
    assert m["pulse_scrape_samples_scraped"][0].value == len(samples) - 14  # 5 health + 9 drop reasons
    assert m["pulse_scrape_body_bytes"][0].value > 10_000
    assert 0 < m["pulse_scrape_duration_seconds"][0].value < 5
    for name in ("node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_load1", "go_goroutines"):
        assert name in m, name
    cpu = m["node_cpu_seconds_total"][0]
    assert dict(cpu.labels)["host"] == "web-1" and dict(cpu.labels)["source"] == "node"
    assert dict(cpu.labels)["instance"] == f"127.0.0.1:{node_exporter.port}"
    quantiles = {dict(s.labels)["quantile"] for s in m["go_gc_duration_seconds"]}
    assert quantiles == {"0.0", "0.25", "0.5", "0.75", "1.0"}  # summary, canonical bounds
    assert "go_gc_duration_seconds_count" in m and "go_gc_duration_seconds_sum" in m
    assert all(key_problem(s.metric, s.labels) is None for s in samples)
    assert c.health.extra["format"] == "text" and c.health.extra["dropped"] == {}


@pytest.fixture
def pulse_metrics() -> Iterator[tuple[SelfMetrics, int]]:
    metrics = SelfMetrics()
    server, thread, port = metrics.serve("127.0.0.1", 0)
    yield metrics, port
    stop_server(server, thread)


def test_pulse_own_metrics_with_histogram_buckets(pulse_metrics: tuple[SelfMetrics, int]) -> None:
    metrics, port = pulse_metrics
    for seconds in (0.003, 0.02, 0.02, 0.2, 4.0):
        metrics.collector_duration.labels(collector="host").observe(seconds)
    metrics.samples_ingested.inc(7)
    c = ScrapeCollector(ScrapeSource(name="pulse", url=f"http://127.0.0.1:{port}/metrics"))
    samples = c.collect()
    m = by_metric(samples)
    assert c.health.extra["format"] == "openmetrics"  # prometheus-client answers our Accept header
    assert m["pulse_samples_ingested_total"][0].value == 7
    assert not any(name.endswith("_created") for name in m)
    buckets = m["pulse_collector_duration_seconds_bucket"]
    les = [dict(s.labels)["le"] for s in buckets]
    assert "+Inf" in les and "0.005" in les and "1.0" in les
    assert m["pulse_collector_duration_seconds_count"][0].value == 5
    frame = pl.DataFrame({"le": les, "value": [s.value for s in buckets]})
    median = histogram_quantile(0.5, frame)["value"][0]
    assert 0.01 < median <= 0.025  # the 3rd of 5 observations lies in the (0.01, 0.025] bucket


def test_sources_test_command(
    node_exporter: NodeExporter, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.cli import main

    dead = f"http://127.0.0.1:{free_port()}/metrics"
    monkeypatch.setenv(
        "PULSE_SOURCES",
        json.dumps(
            [
                {"kind": "scrape", "name": "node", "url": f"{node_exporter.url}/metrics"},
                {"kind": "scrape", "name": "dead", "url": dead, "timeout_s": 2},
            ]
        ),
    )
    assert main(["sources", "test", "node"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("node (scrape): OK in ") and " samples\n" in out
    assert "  go_gc_duration_seconds{" in out and "... and " in out
    assert main(["sources", "test", "dead"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("dead (scrape): FAILED after ")
    assert f"ScrapeError: scrape of {dead} failed: cannot connect" in out


class Good:
    name, interval = "good", 60.0

    def __init__(self) -> None:
        self.health = Health()

    def collect(self) -> list[Sample]:
        return [Sample("scrape_test_good", labels_of(c="good"), now_ms(), 1.0)]


def test_a_failing_scrape_does_not_affect_other_collectors(
    node_exporter: NodeExporter, tmp_path: Path
) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path)
    store = open_store(settings)
    writer = BufferedWriter(store, tmp_path / "spool", max_buffer=100_000, retry_interval_s=0)
    dead = ScrapeCollector(ScrapeSource(name="dead", url=f"http://127.0.0.1:{free_port()}/metrics"))
    node = ScrapeCollector(ScrapeSource(name="node", url=f"{node_exporter.url}/metrics"))
    sched = PulseScheduler(settings, store, [dead, Good(), node], writer, SelfMetrics())
    try:
        assert sched.run_collector_once("good").ok
        h = sched.run_collector_once("dead")
        assert not h.ok and h.last_error is not None
        assert (
            h.last_error.startswith("ScrapeError: scrape of http://127.0.0.1:")
            and "cannot connect" in h.last_error
        )
        assert sched.run_collector_once("node").ok and sched.run_collector_once("good").ok
        writer.flush()
        t = now_ms()
        assert store.select("node_load1", t - 60_000, t + 1000, step_ms=1, resolution="raw").height == 1
        ups = store.select("pulse_scrape_up", t - 60_000, t + 1000, step_ms=1, resolution="raw")
        assert 1.0 in ups["value"].to_list()
    finally:
        sched.shutdown()
        store.close()


def test_the_scheduler_writes_up_0_when_a_scrape_fails(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path)
    store = open_store(settings)
    writer = BufferedWriter(store, tmp_path / "spool", max_buffer=1000, retry_interval_s=0)
    dead = ScrapeCollector(ScrapeSource(name="dead", url=f"http://127.0.0.1:{free_port()}/metrics"))
    sched = PulseScheduler(settings, store, [dead], writer, SelfMetrics())
    try:
        assert not sched.run_collector_once("dead").ok
        writer.flush()
        t = now_ms()
        ups = store.select("pulse_scrape_up", t - 60_000, t + 1000, step_ms=1, resolution="raw")
        assert ups["value"].to_list() == [0.0]
    finally:
        sched.shutdown()
        store.close()


def test_scrape_error_carries_health_samples() -> None:
    err = ScrapeError("x", [Sample("pulse_scrape_up", (), 1, 0.0)])
    assert err.samples[0].value == 0.0 and str(err) == "x"
