"""SelfMetrics: scraped over real HTTP on loopback and parsed with prometheus-client's parser."""

from __future__ import annotations

import socket
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.runtime.selfmetrics import SelfMetrics, stop_server
from core.storage.tsdb.ingest import WriteResult

Scraped = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> tuple[Scraped, dict[str, str]]:
    """Sample values keyed by (sample name, sorted labels) and the family types by name."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    values: Scraped = {}
    types: dict[str, str] = {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            values[s.name, tuple(sorted(s.labels.items()))] = s.value
    return values, types


@pytest.fixture
def served() -> Iterator[tuple[SelfMetrics, int]]:
    m = SelfMetrics()
    server, thread, port = m.serve("127.0.0.1", 0)
    yield m, port
    stop_server(server, thread)


def test_scrape_shows_pulse_and_process_metrics(served: tuple[SelfMetrics, int]) -> None:
    m, port = served
    assert port > 0
    m.record_write(WriteResult(accepted=5, rejected=Counter(too_old=2, future=1)), 0.02)
    m.record_write(WriteResult(accepted=3), 0.2)
    m.record_collect("host", 0.3, ok=True)
    m.record_collect("demo", 0.1, ok=False)
    m.record_collect("demo", 0.1, ok=False)
    m.job_lag.labels(job="rollups").set(0.75)
    m.buffered_samples.set(7)
    m.spooled_samples.inc(3)

    v, types = scrape(port)
    assert v["pulse_samples_ingested_total", ()] == 8
    assert v["pulse_samples_rejected_total", (("reason", "too_old"),)] == 2
    assert v["pulse_samples_rejected_total", (("reason", "future"),)] == 1
    assert v["pulse_collector_up", (("collector", "host"),)] == 1
    assert v["pulse_collector_up", (("collector", "demo"),)] == 0
    assert v["pulse_collector_errors_total", (("collector", "demo"),)] == 2
    assert v["pulse_collector_errors_total", (("collector", "host"),)] == 0
    assert v["pulse_collector_duration_seconds_count", (("collector", "demo"),)] == 2
    assert v["pulse_collector_duration_seconds_sum", (("collector", "host"),)] == pytest.approx(0.3)
    assert v["pulse_job_lag_seconds", (("job", "rollups"),)] == 0.75
    assert v["pulse_db_write_duration_seconds_count", ()] == 2
    assert v["pulse_db_write_duration_seconds_bucket", (("le", "0.025"),)] == 1
    assert v["pulse_buffered_samples", ()] == 7
    assert v["pulse_spooled_samples_total", ()] == 3
    assert types["pulse_db_write_duration_seconds"] == "histogram"
    assert types["pulse_collector_duration_seconds"] == "histogram"
    assert v["process_cpu_seconds_total", ()] > 0
    assert v["process_resident_memory_bytes", ()] > 1_000_000


def test_own_registry_leaves_the_global_one_alone() -> None:
    a, b = SelfMetrics(), SelfMetrics()  # two on their own registries: no duplicate-name error
    a.samples_ingested.inc(4)
    assert a.registry.get_sample_value("pulse_samples_ingested_total") == 4
    assert b.registry.get_sample_value("pulse_samples_ingested_total") == 0
    assert prometheus_client.REGISTRY.get_sample_value("pulse_samples_ingested_total") is None


def test_serve_on_a_fixed_port_and_stop_releases_it() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    m = SelfMetrics()
    server, thread, port = m.serve("127.0.0.1", free)
    assert port == free and thread.is_alive()
    assert ("pulse_buffered_samples", ()) in scrape(port)[0]
    stop_server(server, thread)
    assert not thread.is_alive()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_cache_bytes_follow_the_stores_read_caches(served: tuple[SelfMetrics, int], tmp_path: Path) -> None:
    """A read of compacted chunks and of head blocks fills both caches; the gauges show it."""
    from core.kernel.samples import Sample, labels_of
    from core.kernel.selector import parse_selector
    from core.kernel.settings import load_settings
    from core.storage.tsdb import chunk_cache, open_store

    _, port = served
    chunk_cache.CACHE.clear()
    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path}/p.db"))
    try:
        now = store.now_ms()
        old = now - 3 * 86_400_000  # compacted into chunks (past the out-of-order window)
        store.write([Sample("m", labels_of(h="a"), old + i * 15_000, float(i)) for i in range(500)])
        store.compact()
        store.write([Sample("m", labels_of(h="a"), now - i * 15_000, float(i)) for i in range(100)])
        (sid,) = [sid for sid, _ in store.find_series(parse_selector("m"))]
        store.raw_series([sid], old - 1, now + 1)
        v, _ = scrape(port)
        assert v["pulse_cache_bytes", (("cache", "chunks"),)] == chunk_cache.cached_bytes() > 0
        assert v["pulse_cache_bytes", (("cache", "head"),)] >= 100 * 16  # ts + value of 100 samples
        assert v["pulse_cache_bytes", (("cache", "sqlite"),)] > 0  # the store's connection's pages
    finally:
        store.close()
