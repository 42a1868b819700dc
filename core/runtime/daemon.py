"""``pulse collect``: the collection daemon (collectors, maintenance, /metrics, collector health)."""

from __future__ import annotations

import logging
import os
import threading
import time

from collectors.base import Health
from collectors.registry import build_collectors
from core.kernel.condition_log import ConditionLog
from core.kernel.errors import ConfigError, StorageUnavailable
from core.kernel.samples import Sample, labels_of, now_ms
from core.kernel.settings import Settings
from core.runtime.alerting import check_alerting
from core.runtime.daemon_logging import configure_daemon_logging
from core.runtime.inbound_http import InboundServer, start_inbound
from core.runtime.leadership import LeaderDuties, Leadership
from core.runtime.promapi import ApiServer, start_api
from core.runtime.scheduler import PulseScheduler
from core.runtime.selfjobs import add_self_jobs
from core.runtime.selfmetrics import SelfMetrics, stop_server
from core.runtime.settings_reload import SettingsReloader
from core.runtime.snapshot_files import ready_folder
from core.runtime.snapshots import DailySnapshots
from core.runtime.spool import BufferedWriter
from core.storage.engine import guard_of
from core.storage.leader_lock import LeaderLock, leader_lock
from core.storage.repos.health_report import write_report
from core.storage.tsdb import Store, open_store

log = logging.getLogger("pulse.daemon")
_health_outage = ConditionLog(log)
HEALTH_INTERVAL_S = 15


def health_samples(sched: PulseScheduler, ts: int) -> list[Sample]:
    """Each collector's health as samples, so it has a history like any other metric."""
    out = []
    for name, h in sched.health().items():
        lb = labels_of(collector=name)
        out += [
            Sample("pulse_collector_up", lb, ts, 1.0 if h.ok else 0.0),
            Sample("pulse_collector_duration_seconds", lb, ts, round(h.last_duration_s, 6)),
        ]
    out.append(Sample("pulse_buffered_samples", (), ts, float(sched.writer.pending)))
    return out


def report_entry(h: Health, interval_s: float | None) -> dict[str, object]:
    """One collector's line of the health report: its state, last error and success, and the
    errors it keeps beside them (sources partly down; the last failed tool call per MCP server)."""
    entry: dict[str, object] = {
        "state": h.state,
        "last_error": h.last_error,
        "last_success_ms": h.last_success_ms,
        "last_duration_s": h.last_duration_s,
        "interval_s": interval_s,
    }
    if h.extra.get("partial_errors"):
        entry["partial_errors"] = h.extra["partial_errors"]
    if h.extra.get("last_tool_errors"):
        entry["tool_errors"] = h.extra["last_tool_errors"]
    return entry


def publish_health(
    store: Store, sched: PulseScheduler, report: bool = True, node: str = "", leader: bool | None = None
) -> None:
    """Write the collectors' health, and whether this daemon leads, where the dashboard reads it
    (meta, one key per daemon) and as samples."""
    collectors = sched.collectors  # one dict: settings may replace it meanwhile
    snapshot = {
        name: report_entry(h, collectors[name].interval if name in collectors else None)
        for name, h in sched.health().items()
    }
    try:
        if report:
            write_report(store, snapshot, node, leader, now_ms(), os.getpid())
            _health_outage.ok("collector health report")
    except StorageUnavailable as exc:  # the samples below are still kept, buffered by the writer
        _health_outage.fail("collector health report", "collector health not saved: %s", exc)
    sched.writer.write(health_samples(sched, now_ms()))


def take_lock(settings: Settings) -> LeaderLock:
    """This daemon's leader lock; on SQLite it must be had now: one daemon per SQLite file."""
    c = settings.cluster
    lock = leader_lock(settings.url, c.node_name, settings.database, c.lost_after_s)
    if lock.kind == "sqlite" and not lock.try_acquire():
        holder = lock.holder() or "another process"
        lock.close()
        raise ConfigError(
            f"setting 'database_url': another `pulse collect` ({holder}) already runs on this SQLite "
            "database, and SQLite allows one daemon; stop it, point this one at another file, or move "
            'to PostgreSQL to run several daemons (docs/operator-guide.md, "Scale out")'
        )
    return lock


def run_daemon(
    settings: Settings, stop: threading.Event, run_for_s: float | None = None, metrics_port: int | None = None
) -> int:
    configure_daemon_logging()
    collectors = build_collectors(settings)  # unknown names fail before the database is touched
    try:  # the whole configuration, rule files included, before any side effect
        check_alerting(settings)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"alerting configuration: {exc}") from exc
    if settings.snapshots.enabled:  # an unusable folder fails now, not at midnight
        ready_folder(settings.snapshot_dir, "setting 'snapshots.folder'")
    lock = take_lock(settings)  # a second daemon on a SQLite file stops here, before any side effect
    metrics = SelfMetrics()
    port = settings.metrics.port if metrics_port is None else metrics_port
    try:
        server, thread, bound = metrics.serve(settings.metrics.host, port)
    except OSError as exc:
        lock.close()
        raise ConfigError(
            f"setting 'metrics.port': cannot serve /metrics on {settings.metrics.host}:{port} ({exc}); "
            "is another `pulse collect` running? pick a free port, or 0 for any"
        ) from exc
    try:
        store = open_store(settings)
        spool = settings.data_dir / "spool"
        try:
            writer = BufferedWriter(
                store,
                spool,
                settings.ingest.buffer_max_samples,
                metrics,
                flush_after_s=settings.spool.flush_after_s,
            )
        except OSError as exc:
            store.close()
            raise ConfigError(f"setting 'data_dir': cannot use the spool folder {spool} ({exc})") from exc
    except BaseException:
        lock.close()
        stop_server(server, thread)
        raise
    node = settings.cluster.node_name
    sched = PulseScheduler(settings, store, collectors, writer, metrics, maintenance=False)
    duties = LeaderDuties(settings, store, sched)
    leadership = Leadership(lock, node, settings.cluster.poll_s, duties.gain, duties.lose, metrics)
    leadership.on_change = lambda: publish_health(store, sched, node=node, leader=leadership.is_leader)
    sched.add_job(
        "health",
        lambda: publish_health(store, sched, node=node, leader=leadership.is_leader),
        HEALTH_INTERVAL_S,
    )
    add_self_jobs(store, sched, HEALTH_INTERVAL_S)
    if settings.snapshots.enabled:  # once a day as of 00:00 UTC, checked every check_interval_s
        snapshots = DailySnapshots(store, settings, now_ms)
        sched.add_job("snapshots", snapshots, settings.snapshots.check_interval_s)
    reloader = SettingsReloader(settings, store, sched, duties, now_ms)
    reloader.start()  # the settings saved in the database on top of the file's, then watched
    settings = reloader.current
    inbound: InboundServer | None = None
    api: ApiServer | None = None
    try:
        leadership.step(strict=True)  # alone on the database (or on SQLite): the leader from the start
        if settings.alerting.inbound.enabled:  # every daemon stores inbound alerts; the leader notifies
            inbound = start_inbound(settings.alerting.inbound, store.engine, metrics.registry)
        if settings.api.enabled:  # /api/v1/rules and /alerts read the leader's alerting, when this is it
            served = api = start_api(settings.api, store, writer, metrics.registry, duties.alerting)
            duties.on_alerting = lambda service: setattr(served.app, "alerting", service)
    except BaseException:
        if inbound is not None:
            inbound.stop()
        leadership.stop()
        sched.shutdown()
        stop_server(server, thread)
        store.close()
        raise
    names = ", ".join(sched.collectors)
    print(
        f"pulse collect: collectors {names}; metrics at http://{settings.metrics.host}:{bound}/metrics",
        flush=True,
    )
    if lock.kind == "postgresql":
        role = (
            "the leader"
            if leadership.is_leader
            else f"a follower of {leadership.holder() or 'another daemon'}"
        )
        print(f"pulse collect: node {node} is {role} (leader election on PostgreSQL)", flush=True)
    alerting = duties.alerting
    if alerting is not None:
        inbound_text = f"; inbound alerts at {inbound.url}" if inbound is not None else ""
        channels = len(settings.alerting.channels)
        print(
            f"pulse collect: alerting: {alerting.engine_rules} rules in {len(alerting.groups)} groups, "
            f"{channels} channel(s){inbound_text}",
            flush=True,
        )
    elif settings.alerting.enabled:
        inbound_text = f"; inbound alerts at {inbound.url}" if inbound is not None else ""
        print(f"pulse collect: alerting: evaluated by the leader{inbound_text}", flush=True)
    if settings.snapshots.enabled:
        print(f"pulse collect: daily CSV snapshots in {settings.snapshot_dir}", flush=True)
    if api is not None:
        print(f"pulse collect: Prometheus API and remote write at {api.url}/api/v1/", flush=True)
    sched.start()
    sched.run_job_now("self")  # the scheduler status and own figures from the start, not in 15 s
    leadership.start()
    try:
        wait_for_stop(stop, run_for_s)
    finally:
        leadership.stop_polling()  # from here on, this daemon neither takes nor gives up the lead
        if api is not None:
            api.stop()  # first: no query or remote write arrives while the store closes
        if inbound is not None:
            inbound.stop()  # first: no delivery arrives while the store closes
        down = writer.last_error is not None
        if down:  # do not wait on a database that does not answer: end the calls still waiting
            guard = guard_of(store.engine)
            if guard is not None and (cut := guard.interrupt_all()):
                log.warning("stopping: %d database call(s) still waiting were cut", cut)
        try:  # it is about to give the lead up: it says so
            publish_health(store, sched, report=not down, node=node, leader=False)
        except Exception:
            log.exception("could not publish the final collector health")
        # flushes the writer, or spills it to the spool when the database is down
        sched.shutdown(retry_store=not down)
        if leadership.is_leader and writer.pending == 0:  # roll up the last minutes for 1 m/1 h queries
            try:  # still under the lock: no other daemon runs rollups meanwhile
                store.run_rollups()
            except Exception:
                log.exception("could not bring the rollups up to date")
        leadership.stop()  # closes the channels; the lock goes with its connection
        stop_server(server, thread)
        store.close()
    kept, lost = writer.spooled, writer.in_memory
    if lost:
        print(
            f"pulse collect: stopped; the database is unavailable and {lost:,} samples could not be "
            f"written to the spool {writer.spool_dir} ({writer.spill_error}): they are lost"
            + (f"; {kept:,} samples kept there are written at the next start" if kept else ""),
            flush=True,
        )
        return 1
    if kept:
        print(
            f"pulse collect: stopped; the database is unavailable, {kept:,} samples kept in "
            f"{writer.spool_dir} are written at the next start",
            flush=True,
        )
    else:
        print("pulse collect: stopped; buffered samples flushed", flush=True)
    return 0


WAKE_S = 0.5


def wait_for_stop(stop: threading.Event, run_for_s: float | None) -> None:
    """Until ``stop`` is set (or ``run_for_s`` passed), waking every WAKE_S: a signal the kernel
    delivered to another thread is only handled once the main thread runs Python code again, so
    a wait without timeout could sleep through SIGTERM."""
    deadline = None if run_for_s is None else time.monotonic() + run_for_s
    while not stop.is_set():
        left = WAKE_S if deadline is None else min(WAKE_S, deadline - time.monotonic())
        if left <= 0 or stop.wait(left):
            return
