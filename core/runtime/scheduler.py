"""The process-wide scheduler: collectors at their intervals, rollups, compaction, retention, flushes.

Each collect() runs in its own daemon thread with a timeout. A call that overruns is recorded as
hung and abandoned (not joined: a daemon thread never blocks interpreter exit, which the workers of
a ``concurrent.futures`` pool would); while it is still stuck the collector is not started again,
so a hung collector holds at most one thread and never starves the others.

A collector that fails backs off: after n failures in a row its scheduled runs are skipped for
``interval x 2^(n-1)`` seconds (capped at ``scheduler.backoff_max_s``) with +-20% jitter, so a
source that is down is not hammered and many sources failing together do not retry in lockstep.

The scheduler alone books a collector's health (``Health.success``/``failure``), once per run:
collectors return samples or raise. A ``CollectorError`` or ``CollectFailed`` is shown in its own
words, any other exception with its type first; the samples a ``CollectFailed`` carries are written.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from apscheduler import events as ev
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from collectors.base import Collector, Health
from core.kernel.errors import CollectFailed, CollectorError, StorageUnavailable
from core.kernel.settings import Settings
from core.runtime.conditions import ConditionLog
from core.runtime.selfmetrics import SelfMetrics
from core.runtime.spool import BufferedWriter
from core.storage.tsdb.store import Store

log = logging.getLogger(__name__)
FLUSH_INTERVAL_S = 5.0


def _spawn(fn: Callable[[], Any], name: str) -> Future[Any]:
    """Run ``fn`` in a new daemon thread; its outcome lands in the returned future."""
    fut: Future[Any] = Future()

    def target() -> None:
        if not fut.set_running_or_notify_cancel():
            return
        try:
            fut.set_result(fn())
        except BaseException as exc:  # handed to the waiting job
            fut.set_exception(exc)

    threading.Thread(target=target, name=f"pulse-collect-{name}", daemon=True).start()
    return fut


def failure_reason(exc: BaseException) -> str:
    """The last_error of a failed collect(): a CollectorError or CollectFailed raised as such is the
    collector's own words; any other exception, a subclass included, reads ``Type: message``."""
    return str(exc) if type(exc) in (CollectorError, CollectFailed) else f"{type(exc).__name__}: {exc}"


class PulseScheduler:
    """Runs collectors and storage maintenance on an APScheduler BackgroundScheduler."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        collectors: Sequence[Collector],
        writer: BufferedWriter,
        metrics: SelfMetrics,
        clock: Callable[[], float] = time.time,
        flush_interval_s: float = FLUSH_INTERVAL_S,
    ) -> None:
        self.settings, self.store, self.writer, self.metrics = settings, store, writer, metrics
        self.clock = clock
        self.rng = random.Random()
        self._retry_at: dict[str, float] = {}  # collector -> clock() before which runs are skipped
        self.collectors: dict[str, Collector] = {}
        for c in collectors:
            if c.name in self.collectors:
                raise ValueError(f"two collectors are named {c.name!r}; names must be unique")
            self.collectors[c.name] = c
        if writer.metrics is None:
            writer.metrics = metrics
        self._hung: dict[str, tuple[Future[Any], float]] = {}
        self._started: dict[str, float] = {}
        self._running, self._idle = 0, threading.Condition()
        self._closed = False
        self._outages = ConditionLog(log)  # a job failing on every run during an outage: one line
        sch = settings.scheduler
        self._sched = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=len(self.collectors) + 4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": sch.misfire_grace_s},
            timezone=UTC,
        )
        mask = ev.EVENT_JOB_EXECUTED | ev.EVENT_JOB_ERROR | ev.EVENT_JOB_MISSED | ev.EVENT_JOB_MAX_INSTANCES
        self._sched.add_listener(self._on_event, mask)
        for name, c in self.collectors.items():
            self.add_job(f"collector:{name}", partial(self.scheduled_collect, name), c.interval)
        maintenance: list[tuple[str, Callable[[], Any], float]] = [
            ("rollups", store.run_rollups, sch.rollup_interval_s),
            ("compaction", store.compact, sch.compaction_interval_s),
            ("retention", store.apply_retention, sch.retention_interval_s),
            ("flush", writer.flush, flush_interval_s),
        ]
        for job, fn, seconds in maintenance:
            self.add_job(job, fn, seconds)

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        """Start the jobs (idempotent); collectors run at once, then at their intervals."""
        if not self._sched.running and not self._closed:
            self.writer.start()  # collection only queues its samples: it never waits on the database
            self._sched.start()
            for name in self.collectors:
                self.run_job_now(f"collector:{name}")

    def shutdown(self, wait_s: float | None = None, retry_store: bool = True) -> None:
        """Stop the jobs, wait briefly for running ones, then flush or spill the writer (without
        trying the store again if ``retry_store`` is false and it is known to be down)."""
        if self._closed:
            return
        self._closed = True
        if self._sched.running:
            self._sched.shutdown(wait=False)
        deadline = time.monotonic() + (
            wait_s if wait_s is not None else self.settings.scheduler.collector_timeout_s + 2
        )
        with self._idle:
            while self._running and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
        self.writer.close(retry=retry_store)

    def run_job_now(self, job_id: str) -> None:
        """Move a job's next run to now ("collector:<name>", rollups, compaction, retention, flush)."""
        self._sched.modify_job(job_id, next_run_time=datetime.now(UTC))

    @property
    def running(self) -> bool:
        return bool(self._sched.running)

    def health(self) -> dict[str, Health]:
        """A snapshot of each collector's health, by name."""
        return {n: replace(c.health, extra=dict(c.health.extra)) for n, c in self.collectors.items()}

    # -- the collector job ----------------------------------------------------------------
    def scheduled_collect(self, name: str) -> Health:
        """The scheduled job: run the collector unless it is backing off after failures."""
        c = self.collectors[name]
        # ticks come an interval apart: a tick within half an interval of the retry time goes ahead
        if self.clock() + c.interval / 2 < self._retry_at.get(name, 0.0):
            self.metrics.collector_skipped.labels(collector=name).inc()
            return c.health
        health = self.run_collector_once(name)
        if health.ok:
            self._retry_at.pop(name, None)
        else:
            self._retry_at[name] = self.clock() + self.backoff_s(c.interval, health.consecutive_failures)
        return health

    def backoff_s(self, interval: float, failures: int) -> float:
        """Seconds to wait after ``failures`` failures in a row: doubling, capped, +-20% jitter."""
        cap = max(self.settings.scheduler.backoff_max_s, interval)
        base = min(cap, interval * 2 ** min(max(failures - 1, 0), 30))
        return base * self.rng.uniform(0.8, 1.2)

    def run_collector_once(self, name: str) -> Health:
        """Run one collector now, whatever its backoff, and return its health."""
        c = self.collectors[name]
        timeout = getattr(c, "deadline_s", None) or self.settings.scheduler.collector_timeout_s
        stuck = self._hung.get(name)
        if stuck is not None and not stuck[0].done():
            self._failed(c, f"hung: collect() has not returned for {time.monotonic() - stuck[1]:.0f}s", 0.0)
            return c.health
        self._hung.pop(name, None)
        t0 = time.monotonic()
        fut = _spawn(c.collect, name)
        try:
            samples = list(fut.result(timeout=timeout))
        except Exception as exc:
            duration = time.monotonic() - t0
            if isinstance(exc, TimeoutError) and not fut.done():
                self._hung[name] = (fut, t0)
                self._failed(c, f"timed out after {timeout:g}s", duration)
            else:
                self._failed(c, failure_reason(exc), duration, logged=f"{type(exc).__name__}: {exc}")
                if isinstance(exc, CollectFailed):
                    self._write(name, exc.samples)  # e.g. pulse_scrape_up 0
            return c.health
        duration = time.monotonic() - t0
        c.health.success(duration, int(self.clock() * 1000))
        self.metrics.record_collect(name, duration, ok=True)
        self._write(name, samples)
        return c.health

    def _write(self, name: str, samples: list[Any]) -> None:
        if not samples:
            return
        try:
            self.writer.write(samples)
        except Exception:
            log.exception("writing the samples of collector %r failed (they stay buffered)", name)
            self.metrics.job_errors.labels(job="write").inc()

    def _failed(self, c: Collector, reason: str, duration: float, logged: str | None = None) -> None:
        log.warning("collector %r failed: %s", c.name, logged or reason)
        c.health.failure(reason, duration)
        self.metrics.record_collect(c.name, duration, ok=False)

    # -- helpers ----------------------------------------------------------------------------
    def add_job(self, job_id: str, fn: Callable[[], Any], seconds: float) -> None:
        """Run ``fn`` every ``seconds`` with the same lag and error accounting as the built-in jobs."""
        self._sched.add_job(self._tracked(job_id, fn), "interval", seconds=seconds, id=job_id, name=job_id)

    def _tracked(self, job_id: str, fn: Callable[[], Any]) -> Callable[[], None]:
        """The job as scheduled: records its start (for the lag), logs and counts its errors."""

        def run() -> None:
            self._started[job_id] = time.time()
            with self._idle:
                self._running += 1
            try:
                fn()
                self._outages.ok(f"scheduled job {job_id!r}")
            except StorageUnavailable as exc:  # expected during an outage: one line, no traceback
                self._outages.fail(f"scheduled job {job_id!r}", "scheduled job %r skipped: %s", job_id, exc)
                self.metrics.job_errors.labels(job=job_id).inc()
            except Exception:
                log.exception("scheduled job %r failed; it runs again at its next interval", job_id)
                self.metrics.job_errors.labels(job=job_id).inc()
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()

        return run

    def _on_event(self, event: ev.JobEvent) -> None:
        """Job lag from APScheduler's scheduled run time; misfired or skipped runs are counted."""
        scheduled: datetime | None = getattr(event, "scheduled_run_time", None)
        if event.code in (ev.EVENT_JOB_MISSED, ev.EVENT_JOB_MAX_INSTANCES):
            self.metrics.job_missed.labels(job=event.job_id).inc()
            times = getattr(event, "scheduled_run_times", None) or [scheduled]
            scheduled, started = times[-1], time.time()
        else:
            started = self._started.pop(event.job_id, time.time())
        if event.code == ev.EVENT_JOB_ERROR:
            self.metrics.job_errors.labels(job=event.job_id).inc()
        if scheduled is not None:
            self.metrics.job_lag.labels(job=event.job_id).set(max(0.0, started - scheduled.timestamp()))
