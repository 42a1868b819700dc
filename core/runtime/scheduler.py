"""The process-wide scheduler: collectors at their intervals, rollups, compaction, retention, flushes.

Each collect() runs in its own daemon thread with a timeout. A call that overruns is recorded as
hung and abandoned (not joined: a daemon thread never blocks interpreter exit, which the workers of
a ``concurrent.futures`` pool would); while it is still stuck the collector is not started again,
so a hung collector holds at most one thread and never starves the others.
A slow or huge source therefore runs beside the others, never before them (measured with a 30 MB
body parsed in pure Python: the GIL's 5 ms switch interval leaves the small collectors on time, so
threads suffice; ``python -m bench bigtarget``). A streaming collector (a scrape) hands its samples
over while it runs into a :class:`~core.runtime.staging.Stage`, committed to the writer only when
collect() succeeds and discarded otherwise, so a huge body is never held whole.

A collector that fails backs off: after n failures in a row its scheduled runs are skipped for
``interval x 2^(n-1)`` seconds (capped at ``scheduler.backoff_max_s``) with +-20% jitter, so a
source that is down is not hammered and many sources failing together do not retry in lockstep.

The scheduler alone books a collector's health (``Health.success``/``failure``), once per run:
collectors return samples or raise. A ``CollectorError`` or ``CollectFailed`` is shown in its own
words, any other exception with its type first; the samples a ``CollectFailed`` carries are written.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from apscheduler import events as ev
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from collectors.base import Collector, Health, Streaming
from core.kernel.condition_log import ConditionLog
from core.kernel.errors import CollectFailed, CollectorError, StorageUnavailable
from core.kernel.settings import Settings
from core.runtime.selfmetrics import SelfMetrics
from core.runtime.spool import BufferedWriter
from core.runtime.staging import Stage
from core.storage.tsdb.store import Store

log = logging.getLogger(__name__)
FLUSH_INTERVAL_S = 5.0
SPARE_WORKERS = 8  # job threads beyond one per collector: maintenance, health, alerting, settings


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


@dataclass
class JobRun:
    """The last run of a scheduled job: when it started, how long it took, how it ended."""

    started_s: float = 0.0
    duration_s: float = 0.0
    error: str | None = None
    runs: int = 0
    errors: int = 0


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
        maintenance: bool = True,
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
        self.job_runs: dict[str, JobRun] = {}  # job -> its last run, for the scheduler status
        self._running, self._idle = 0, threading.Condition()
        self._closed = False
        self._outages = ConditionLog(log)  # a job failing on every run during an outage: one line
        sch = settings.scheduler
        self._sched = BackgroundScheduler(
            # room for collectors added while running (settings changed in the database)
            executors={"default": ThreadPoolExecutor(max_workers=len(self.collectors) + SPARE_WORKERS)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": sch.misfire_grace_s},
            timezone=UTC,
        )
        mask = ev.EVENT_JOB_EXECUTED | ev.EVENT_JOB_ERROR | ev.EVENT_JOB_MISSED | ev.EVENT_JOB_MAX_INSTANCES
        self._sched.add_listener(self._on_event, mask)
        for name, c in self.collectors.items():
            self.add_job(f"collector:{name}", partial(self.scheduled_collect, name), c.interval)
        self.add_job("flush", writer.flush, flush_interval_s)  # each daemon writes its own samples
        if maintenance:  # else the leader's alone: add_maintenance() when this daemon leads
            self.add_maintenance()

    # -- the database's maintenance: once per database, by the leader ------------------------
    def maintenance_jobs(self) -> list[tuple[str, Callable[[], Any], float]]:
        """Rollups, compaction and retention: each works on the whole database (dirty minutes,
        head blocks, old rows), so with several daemons only the leader runs them."""
        sch = self.settings.scheduler
        return [
            ("rollups", self.store.run_rollups, sch.rollup_interval_s),
            ("compaction", self.store.compact, sch.compaction_interval_s),
            ("retention", self.store.apply_retention, sch.retention_interval_s),
        ]

    def add_maintenance(self) -> None:
        for job, fn, seconds in self.maintenance_jobs():
            self.add_job(job, fn, seconds)

    def remove_maintenance(self) -> None:
        for job, _, _ in self.maintenance_jobs():
            self.remove_job(job)

    # -- collectors changed while running (core.runtime.settings_reload) ---------------------
    def replace_collector(self, name: str, collector: Collector | None) -> None:
        """Stop collector ``name`` (a run in progress finishes) and, when ``collector`` is given,
        schedule it in its place at its interval, first run now if the scheduler runs."""
        self.remove_job(f"collector:{name}")
        kept = {n: c for n, c in self.collectors.items() if n != name}
        self._retry_at.pop(name, None)
        self._hung.pop(name, None)  # the new one starts afresh; a stuck old call is abandoned
        if collector is not None:
            kept[name] = collector
        self.collectors = kept  # one assignment: readers iterate either the old or the new dict
        if collector is not None:
            self.add_job(f"collector:{name}", partial(self.scheduled_collect, name), collector.interval)
            if self.running:
                self.run_job_now(f"collector:{name}")

    def set_misfire_grace(self, seconds: float) -> None:
        """Every job may start up to ``seconds`` late (settings changed while running; jobs added
        later take ``settings.scheduler.misfire_grace_s``); a later run is skipped, counted missed."""
        for job in self._sched.get_jobs():
            with contextlib.suppress(JobLookupError):
                self._sched.modify_job(job.id, misfire_grace_time=seconds)

    def reschedule(self, job_id: str, seconds: float) -> None:
        """Run job ``job_id`` every ``seconds`` from now on (unknown ids are ignored)."""
        with contextlib.suppress(JobLookupError):
            self._sched.reschedule_job(job_id, trigger="interval", seconds=seconds)

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
        stage = None
        if isinstance(c, Streaming):  # batches staged while it runs, kept only if it succeeds
            stage = Stage(self.writer)
            c.sink = stage.add
        t0 = time.monotonic()
        fut = _spawn(c.collect, name)
        try:
            samples = list(fut.result(timeout=timeout))
        except Exception as exc:
            duration = time.monotonic() - t0
            if stage is not None:
                stage.discard()
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
        if stage is not None:
            self._commit(name, stage, samples)
        else:
            self._write(name, samples)
        return c.health

    def _commit(self, name: str, stage: Stage, samples: list[Any]) -> None:
        try:
            stage.commit(samples)
        except Exception:
            log.exception("handing the samples of collector %r to the writer failed", name)
            self.metrics.job_errors.labels(job="write").inc()

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
        self._sched.add_job(
            self._tracked(job_id, fn),
            "interval",
            seconds=seconds,
            id=job_id,
            name=job_id,
            misfire_grace_time=self.settings.scheduler.misfire_grace_s,  # the settings in effect now
        )

    def remove_job(self, job_id: str) -> None:
        """Stop scheduling a job (a run in progress finishes); unknown ids are ignored."""
        with contextlib.suppress(JobLookupError):
            self._sched.remove_job(job_id)

    def has_job(self, job_id: str) -> bool:
        return self._sched.get_job(job_id) is not None

    def _tracked(self, job_id: str, fn: Callable[[], Any]) -> Callable[[], None]:
        """The job as scheduled: records its start (for the lag), logs and counts its errors."""

        def run() -> None:
            self._started[job_id] = started = time.time()
            t0, error = time.monotonic(), None
            with self._idle:
                self._running += 1
            try:
                fn()
                self._outages.ok(f"scheduled job {job_id!r}")
            except StorageUnavailable as exc:  # expected during an outage: one line, no traceback
                self._outages.fail(f"scheduled job {job_id!r}", "scheduled job %r skipped: %s", job_id, exc)
                self.metrics.job_errors.labels(job=job_id).inc()
                error = str(exc)
            except Exception as exc:
                log.exception("scheduled job %r failed; it runs again at its next interval", job_id)
                self.metrics.job_errors.labels(job=job_id).inc()
                error = failure_reason(exc)
            finally:
                self._finished(job_id, started, time.monotonic() - t0, error)
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()

        return run

    def _finished(self, job_id: str, started: float, duration: float, error: str | None) -> None:
        self.metrics.job_duration.labels(job=job_id).observe(duration)
        last = self.job_runs.get(job_id) or JobRun()
        self.job_runs[job_id] = JobRun(
            started, duration, error, last.runs + 1, last.errors + (error is not None)
        )

    def jobs(self) -> list[dict[str, object]]:
        """Every scheduled job: id, interval, next run, and its last run (start, duration, error)."""
        out: list[dict[str, object]] = []
        for job in self._sched.get_jobs():
            nxt = getattr(job, "next_run_time", None)
            last = self.job_runs.get(job.id)
            trigger = getattr(job, "trigger", None)
            interval = getattr(trigger, "interval", None)
            error = last.error if last else None
            c = (
                self.collectors.get(job.id.removeprefix("collector:"))
                if job.id.startswith("collector:")
                else None
            )
            if c is not None and not c.health.ok:  # a collector's failure is in its health, not raised
                error = c.health.last_error
            out.append(
                {
                    "job": job.id,
                    "interval_s": interval.total_seconds() if interval is not None else None,
                    "next_run_ms": int(nxt.timestamp() * 1000) if nxt is not None else None,
                    "last_run_ms": int(last.started_s * 1000) if last else None,
                    "last_duration_s": round(last.duration_s, 6) if last else None,
                    "last_error": error,
                    "runs": last.runs if last else 0,
                    "errors": last.errors if last else 0,
                }
            )
        return sorted(out, key=lambda j: str(j["job"]))

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
