"""Pulse's own figures written into its store, so the self-monitoring view has their history.

Every ``HEALTH_INTERVAL_S`` the daemon writes (names in :mod:`core.views.self_monitoring`):

* its own CPU seconds, resident memory, start time and its machine's CPU count (``process="daemon"``), read
  with psutil from this process: CPU accounting of its own process, user + system time, without
  children (a stdio MCP server it starts is a monitored server, not Pulse);
* the database's size on disk, the spool's bytes and samples, the notification outbox's entries;
* the cumulative ingested and rejected samples and, per scheduled job, its last duration and lag
  (copied from the /metrics registry, so both tell the same story).

Every one of them carries ``node`` (``cluster.node_name``): with several daemons on one database
(scale-out) each writes its own figures, and two daemons' CPU or lag must never add up or
overwrite each other in one series. The database's size and outbox are the same database seen
from each node: the view takes the largest reading, not the sum.

The dashboard process records its own CPU and memory (``process="ui"``) with :class:`UiRecorder`,
a daemon thread started once per UI process: the UI may run on another machine than the daemon
(the scale-out layout), where the daemon could not see it, and a process reads its own figures
without any permission a look at another process would need.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import psutil
from prometheus_client import CollectorRegistry

from core.kernel.samples import Sample, labels_of, now_ms
from core.storage.dbsize import database_bytes
from core.storage.tsdb import Store

log = logging.getLogger(__name__)
UI_INTERVAL_S = 15.0
COPIED = frozenset(
    {
        "pulse_samples_ingested_total",
        "pulse_samples_rejected_total",
        "pulse_job_lag_seconds",
        "pulse_ingest_lag_seconds",
    }
)


def process_samples(
    role: str, ts: int, proc: psutil.Process | None = None, node: str | None = None
) -> list[Sample]:
    """CPU seconds (user + system), resident bytes, start time (epoch seconds, as Prometheus'
    ``process_start_time_seconds``) and the machine's CPUs of one Pulse process (labelled with the
    daemon's ``node``, when given)."""
    p = proc if proc is not None else psutil.Process()
    with p.oneshot():
        cpu = p.cpu_times()
        rss = p.memory_info().rss
        started = p.create_time()
    lb = labels_of(process=role, instance=f"{socket.gethostname()}:{p.pid}", node=node)
    return [
        Sample("pulse_process_cpu_seconds_total", lb, ts, round(cpu.user + cpu.system, 3)),
        Sample("pulse_process_resident_memory_bytes", lb, ts, float(rss)),
        Sample("pulse_process_start_time_seconds", lb, ts, round(started, 3)),
        Sample("pulse_process_machine_cpus", lb, ts, float(psutil.cpu_count() or 1)),
    ]


def _registry_samples(registry: CollectorRegistry, ts: int, node: str | None) -> list[Sample]:
    """The /metrics counters the view charts, as stored samples (the histograms as last values)."""
    out: list[Sample] = []
    for family in registry.collect():
        for s in family.samples:
            if s.name in COPIED:
                out.append(Sample(s.name, labels_of(**s.labels, node=node), ts, float(s.value)))
    return out


def spool_bytes(folder: Path) -> int:
    try:
        return sum(p.stat().st_size for p in folder.glob("spool-*.jsonl"))
    except OSError:
        return 0


def daemon_samples(
    store: Store,
    registry: CollectorRegistry,
    job_durations: dict[str, float],
    spool_dir: Path,
    spooled: int,
    outbox: Callable[[], int] | None,
    ts: int | None = None,
    node: str | None = None,
) -> list[Sample]:
    """Everything the daemon on ``node`` records about itself in one health tick; the database's
    size and the outbox only with ``outbox`` (the caller passes None while the database is known
    to be down)."""
    t = now_ms() if ts is None else ts
    mine = labels_of(node=node)
    out = process_samples("daemon", t, node=node)
    out += _registry_samples(registry, t, node)
    out += [
        Sample("pulse_job_duration_seconds", labels_of(job=job, node=node), t, round(d, 6))
        for job, d in job_durations.items()
    ]
    out.append(Sample("pulse_spool_bytes", mine, t, float(spool_bytes(spool_dir))))
    out.append(Sample("pulse_spool_samples", mine, t, float(spooled)))
    if outbox is not None:  # None while the database is known to be down: no call that would wait
        out.append(Sample("pulse_db_size_bytes", mine, t, float(database_bytes(store.engine))))
        out.append(Sample("pulse_notification_outbox", mine, t, float(outbox())))
    return out


class UiRecorder:
    """A daemon thread of the dashboard process writing its own CPU and memory every interval."""

    def __init__(self, store: Store, interval_s: float = UI_INTERVAL_S) -> None:
        self.store, self.interval_s = store, interval_s
        self._stop = threading.Event()
        self._proc = psutil.Process(os.getpid())
        self._told = False
        self.thread = threading.Thread(target=self._run, name="pulse-ui-selfstats", daemon=True)

    def start(self) -> UiRecorder:
        self.thread.start()
        return self

    def record(self) -> None:
        """One write of this process's figures; a failure is logged once and the thread goes on."""
        try:
            self.store.write(process_samples("ui", now_ms(), self._proc))
            self._told = False
        except Exception as exc:  # the dashboard must not break because its own figures failed
            if not self._told:
                log.warning("the dashboard's own CPU and memory were not recorded: %s", exc)
                self._told = True

    def _run(self) -> None:
        while True:
            self.record()
            if self._stop.wait(self.interval_s):
                return

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)
