"""``pulse collect``: the collection daemon (collectors, maintenance, /metrics, collector health)."""

from __future__ import annotations

import logging
import threading
from functools import partial

from collectors.registry import build_collectors
from core.kernel.errors import ConfigError, StorageUnavailable
from core.kernel.samples import Sample, labels_of, now_ms
from core.kernel.settings import Settings
from core.runtime.alerting import AlertService, check_alerting
from core.runtime.conditions import ConditionLog
from core.runtime.inbound_http import InboundServer, start_inbound
from core.runtime.promapi import ApiServer, start_api
from core.runtime.scheduler import PulseScheduler
from core.runtime.selfmetrics import SelfMetrics, stop_server
from core.runtime.spool import BufferedWriter
from core.storage.engine import guard_of
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


def publish_health(store: Store, sched: PulseScheduler, report: bool = True) -> None:
    """Write the collectors' health where the dashboard reads it (meta) and as samples."""
    snapshot = {
        name: {
            "state": h.state,
            "last_error": h.last_error,
            "last_success_ms": h.last_success_ms,
            "last_duration_s": h.last_duration_s,
            "interval_s": sched.collectors[name].interval,
            **({"partial_errors": h.extra["partial_errors"]} if h.extra.get("partial_errors") else {}),
        }
        for name, h in sched.health().items()
    }
    try:
        if report:
            write_report(store, snapshot)
            _health_outage.ok("collector health report")
    except StorageUnavailable as exc:  # the samples below are still kept, buffered by the writer
        _health_outage.fail("collector health report", "collector health not saved: %s", exc)
    sched.writer.write(health_samples(sched, now_ms()))


def start_alerting(settings: Settings, store: Store, sched: PulseScheduler) -> AlertService | None:
    """Rule groups at their intervals and the notification stage, as jobs of the scheduler."""
    if not settings.alerting.enabled:
        return None
    service = AlertService(settings, store)
    for name, interval in service.groups.items():
        sched.add_job(f"alerts:{name}", partial(service.evaluate, name), interval)
    sched.add_job("alerts:notify", service.tick, settings.alerting.notify_interval_s)
    return service


def run_daemon(
    settings: Settings, stop: threading.Event, run_for_s: float | None = None, metrics_port: int | None = None
) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run is noise
    # a run skipped because the last one still runs is counted in pulse_job_missed_total
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    for chatty in ("httpx", "httpcore", "mcp"):  # a line per scrape, per MCP session: noise
        logging.getLogger(chatty).setLevel(logging.WARNING)
    collectors = build_collectors(settings)  # unknown names fail before the database is touched
    try:  # the whole configuration, rule files included, before any side effect
        check_alerting(settings)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"alerting configuration: {exc}") from exc
    metrics = SelfMetrics()
    port = settings.metrics.port if metrics_port is None else metrics_port
    try:
        server, thread, bound = metrics.serve(settings.metrics.host, port)
    except OSError as exc:
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
        stop_server(server, thread)
        raise
    sched = PulseScheduler(settings, store, collectors, writer, metrics)
    sched.add_job("health", lambda: publish_health(store, sched), HEALTH_INTERVAL_S)
    try:
        alerting = start_alerting(settings, store, sched)
    except BaseException:
        sched.shutdown()
        stop_server(server, thread)
        store.close()
        raise
    inbound: InboundServer | None = None
    if settings.alerting.inbound.enabled:
        try:
            inbound = start_inbound(settings.alerting.inbound, store.engine, metrics.registry)
        except BaseException:
            if alerting is not None:
                alerting.close()
            sched.shutdown()
            stop_server(server, thread)
            store.close()
            raise
    api: ApiServer | None = None
    if settings.api.enabled:
        try:
            api = start_api(settings.api, store, writer, metrics.registry)
        except BaseException:
            if inbound is not None:
                inbound.stop()
            if alerting is not None:
                alerting.close()
            sched.shutdown()
            stop_server(server, thread)
            store.close()
            raise
    names = ", ".join(c.name for c in collectors)
    print(
        f"pulse collect: collectors {names}; metrics at http://{settings.metrics.host}:{bound}/metrics",
        flush=True,
    )
    if alerting is not None:
        inbound_text = f"; inbound alerts at {inbound.url}" if inbound is not None else ""
        channels = len(settings.alerting.channels)
        print(
            f"pulse collect: alerting: {alerting.engine_rules} rules in {len(alerting.groups)} groups, "
            f"{channels} channel(s){inbound_text}",
            flush=True,
        )
    if api is not None:
        print(f"pulse collect: Prometheus API and remote write at {api.url}/api/v1/", flush=True)
    sched.start()
    try:
        stop.wait(run_for_s)
    finally:
        if api is not None:
            api.stop()  # first: no query or remote write arrives while the store closes
        if inbound is not None:
            inbound.stop()  # first: no delivery arrives while the store closes
        down = writer.last_error is not None
        if down:  # do not wait on a database that does not answer: end the calls still waiting
            guard = guard_of(store.engine)
            if guard is not None and (cut := guard.interrupt_all()):
                log.warning("stopping: %d database call(s) still waiting were cut", cut)
        try:
            publish_health(store, sched, report=not down)
        except Exception:
            log.exception("could not publish the final collector health")
        # flushes the writer, or spills it to the spool when the database is down
        sched.shutdown(retry_store=not down)
        if alerting is not None:
            alerting.close()
        if writer.pending == 0:  # the database answers: roll up the last minutes for 1 m/1 h queries
            try:
                store.run_rollups()
            except Exception:
                log.exception("could not bring the rollups up to date")
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
