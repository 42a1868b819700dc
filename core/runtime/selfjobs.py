"""The daemon's jobs about itself: its own figures and the scheduler status into the store, every
``HEALTH_INTERVAL_S``; and the "run now" requests of the admin view, taken every ``REQUESTS_POLL_S``.
"""

from __future__ import annotations

import logging
import os
import socket
import time

from core.kernel.condition_log import ConditionLog
from core.kernel.errors import StorageUnavailable
from core.kernel.malloc import trim_heap
from core.kernel.samples import now_ms
from core.runtime.scheduler import PulseScheduler
from core.runtime.selfstats import daemon_samples
from core.storage.repos.job_requests import JobRequests, write_status
from core.storage.repos.notifications import DbOutbox
from core.storage.tsdb import Store

log = logging.getLogger("pulse.daemon")
_outage = ConditionLog(log)
REQUESTS_POLL_S = 2.0


def daemon_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def publish_self(store: Store, sched: PulseScheduler) -> None:
    """The scheduler status (meta ``scheduler_status``) and Pulse's own figures (samples)."""
    down = sched.writer.last_error is not None  # no call that would wait on a database known down
    if not down:
        status = {"daemon": daemon_name(), "reported_ms": now_ms(), "jobs": sched.jobs()}
        try:
            write_status(store, status)
            _outage.ok("scheduler status")
        except StorageUnavailable as exc:  # the samples below are still kept, buffered by the writer
            _outage.fail("scheduler status", "scheduler status not saved: %s", exc)
    durations = {job: run.duration_s for job, run in sched.job_runs.items()}
    outbox = None if down else DbOutbox(store.engine).__len__
    w = sched.writer
    node = sched.settings.cluster.node_name
    samples = daemon_samples(
        store, sched.metrics.registry, durations, w.spool_dir, w.spooled, outbox, node=node
    )
    sched.writer.write(samples)
    trim_heap(time.monotonic())  # at most once a minute (core/kernel/malloc.py)


def take_requests(requests: JobRequests, sched: PulseScheduler, daemon: str) -> list[str]:
    """Run now the jobs the admin view asked for (those this daemon has); returns them."""
    if sched.writer.last_error is not None:  # the database is down: ask again when it is back
        return []
    jobs = {str(j["job"]) for j in sched.jobs()}
    taken = requests.take(jobs, daemon, now_ms())
    for job in taken:
        log.info("job %r runs now, as asked from the dashboard", job)
        sched.run_job_now(job)
    return taken


def add_self_jobs(store: Store, sched: PulseScheduler, interval_s: float) -> None:
    requests, name = JobRequests(store.engine), daemon_name()
    sched.add_job("self", lambda: publish_self(store, sched), interval_s)
    sched.add_job("requests", lambda: take_requests(requests, sched, name), REQUESTS_POLL_S)
