"""Pulse's own Prometheus metrics, on a registry of their own, and the /metrics HTTP endpoint."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    start_http_server,
)

from core.storage.engine import sqlite_memory_used
from core.storage.tsdb import chunk_cache, head_cache

if TYPE_CHECKING:
    from core.storage.tsdb.ingest import WriteResult

DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class SelfMetrics:
    """The metrics Pulse exposes about itself; one instance per process (or per test)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry if registry is not None else CollectorRegistry()
        self.samples_ingested = Counter("pulse_samples_ingested", "Samples the store accepted", registry=r)
        self.samples_rejected = Counter(
            "pulse_samples_rejected", "Samples the store rejected, by reason", ["reason"], registry=r
        )
        self.collector_duration = Histogram(
            "pulse_collector_duration_seconds",
            "Wall time of one collect() call, by collector",
            ["collector"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.collector_errors = Counter(
            "pulse_collector_errors",
            "Failed or timed-out collect() calls, by collector",
            ["collector"],
            registry=r,
        )
        self.collector_skipped = Counter(
            "pulse_collector_skipped",
            "Scheduled collect() runs skipped while the collector backs off after failures",
            ["collector"],
            registry=r,
        )
        self.collector_up = Gauge(
            "pulse_collector_up", "1 if the collector's last run succeeded, else 0", ["collector"], registry=r
        )
        self.job_lag = Gauge(
            "pulse_job_lag_seconds",
            "How late the last run of a scheduled job started after its scheduled time",
            ["job"],
            registry=r,
        )
        self.job_duration = Histogram(
            "pulse_job_duration_seconds",
            "Wall time of one run of a scheduled job, by job",
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.job_errors = Counter(
            "pulse_job_errors", "Scheduled job runs that raised, by job", ["job"], registry=r
        )
        self.job_missed = Counter(
            "pulse_job_missed", "Scheduled job runs skipped as misfired, by job", ["job"], registry=r
        )
        self.db_write_duration = Histogram(
            "pulse_db_write_duration_seconds",
            "Wall time of one successful write of a batch to the store",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.ingest_lag = Gauge(
            "pulse_ingest_lag_seconds",
            "Age of the newest sample of the last batch written, when the store accepted it",
            registry=r,
        )
        self.buffered_samples = Gauge(
            "pulse_buffered_samples",
            "Samples waiting for the store, in memory or in spool files",
            registry=r,
        )
        self.spooled_samples = Counter(
            "pulse_spooled_samples", "Samples spilled from memory to spool files", registry=r
        )
        self.spool_write_failures = Counter(
            "pulse_spool_write_failures",
            "Spool file writes that failed (disk full, read-only): those samples stayed in memory only",
            registry=r,
        )
        self.leader = Gauge(
            "pulse_leader",
            "1 while this daemon is the leader (evaluates alerts, notifies, runs rollups, compaction"
            " and retention), 0 while it is a follower",
            registry=r,
        )
        self.leader_changes = Counter(
            "pulse_leader_changes", "Times this daemon became the leader or stopped being it", registry=r
        )
        self.cache_bytes = Gauge(
            "pulse_cache_bytes",
            "Bytes held by the store's read caches of this process (chunks: decoded raw chunks,"
            " PULSE_CHUNK_CACHE_MB; head: decoded head blocks, PULSE_HEAD_CACHE_MB; sqlite: SQLite's"
            " page caches, 2 MB per pooled connection)",
            ["cache"],
            registry=r,
        )
        self.cache_bytes.labels(cache="chunks").set_function(chunk_cache.cached_bytes)
        self.cache_bytes.labels(cache="head").set_function(head_cache.cached_bytes)
        self.cache_bytes.labels(cache="sqlite").set_function(sqlite_memory_used)
        self.process = ProcessCollector(registry=r)

    # -- recording helpers ------------------------------------------------------------
    def record_write(self, result: WriteResult, duration_s: float, newest_ms: int = 0) -> None:
        self.db_write_duration.observe(duration_s)
        if newest_ms > 0:  # how old the newest sample of the batch was when the store had it
            self.ingest_lag.set(max(0.0, time.time() - newest_ms / 1000))
        self.samples_ingested.inc(result.accepted)
        for reason, n in result.rejected.items():
            self.samples_rejected.labels(reason=reason).inc(n)

    def record_collect(self, collector: str, duration_s: float, ok: bool) -> None:
        self.collector_duration.labels(collector=collector).observe(duration_s)
        self.collector_up.labels(collector=collector).set(1 if ok else 0)
        if not ok:
            self.collector_errors.labels(collector=collector).inc()
        else:
            self.collector_errors.labels(collector=collector)  # a zero series from the first run

    # -- the endpoint ---------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> tuple[WSGIServer, threading.Thread, int]:
        """Serve /metrics on ``host:port`` in a daemon thread; port 0 picks a free port.

        Returns the server (``server.shutdown()`` then ``server.server_close()`` to stop it),
        its thread and the port actually bound.
        """
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return server, thread, int(server.server_port)


def stop_server(server: WSGIServer, thread: threading.Thread | None = None, timeout: float = 5.0) -> None:
    """Stop a server started by :meth:`SelfMetrics.serve` and release its port."""
    server.shutdown()
    server.server_close()
    if thread is not None:
        thread.join(timeout)
