"""Pulse's own figures: CPU accounting of this process, the database size on SQLite and PostgreSQL,
the UI recorder, and a real daemon that records itself and runs a job asked for through the database."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from core.kernel.samples import Sample, labels_of, now_ms
from core.runtime.selfstats import UiRecorder, process_samples
from core.storage.dbsize import database_bytes
from core.storage.repos.job_requests import JobRequests, read_status
from core.storage.tsdb import Store
from tests.daemons import Daemon, scrape, wait_for


def test_process_samples_account_this_processs_own_cpu() -> None:
    before = {s.metric: s for s in process_samples("ui", now_ms())}
    t0 = time.process_time()
    while time.process_time() - t0 < 0.3:  # burn 0.3 s of CPU
        sum(i * i for i in range(1000))
    after = {s.metric: s for s in process_samples("ui", now_ms())}
    used = after["pulse_process_cpu_seconds_total"].value - before["pulse_process_cpu_seconds_total"].value
    assert 0.28 <= used <= 1.0
    labels = dict(after["pulse_process_cpu_seconds_total"].labels)
    assert labels["process"] == "ui" and labels["instance"].endswith(f":{os.getpid()}")
    assert after["pulse_process_resident_memory_bytes"].value > 10e6
    assert after["pulse_process_machine_cpus"].value == os.cpu_count()
    started = after["pulse_process_start_time_seconds"].value
    assert started == pytest.approx(psutil.Process().create_time(), abs=0.01) and started < time.time()


def test_database_size_grows_with_what_is_written(store: Store) -> None:
    """On SQLite and PostgreSQL (the ``backend`` parameter)."""
    empty = database_bytes(store.engine)
    assert empty > 0
    t = now_ms()
    store.write(
        [Sample("m", labels_of(i=str(i)), t - j * 1000, float(j)) for i in range(300) for j in range(50)]
    )
    assert database_bytes(store.engine) > empty
    if store.engine.dialect.name == "sqlite":  # the file and its WAL
        path = Path(store.engine.url.database or "")
        wal = Path(f"{path}-wal")
        assert database_bytes(store.engine) == path.stat().st_size + (
            wal.stat().st_size if wal.exists() else 0
        )


def test_the_ui_recorder_writes_its_figures_until_stopped(store: Store) -> None:
    rec = UiRecorder(store, interval_s=0.05).start()
    wait_for(
        lambda: not store.series('pulse_process_cpu_seconds_total{process="ui"}').is_empty(),
        what="ui figures",
    )
    rec.stop()
    assert not rec.thread.is_alive()


def test_a_daemon_reports_its_jobs_and_runs_one_asked_for(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/p.db"
    env = {
        "PULSE_DATABASE_URL": url,
        "PULSE_DATA_DIR": str(tmp_path / "data"),
        "PULSE_COLLECTORS": '["host"]',
    }
    d = Daemon(tmp_path, env)
    try:
        engine = sa.create_engine(url)

        class Meta:
            def get_meta(self, key: str) -> str | None:
                with engine.connect() as conn:
                    row = conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (key,)).first()
                return None if row is None else str(row[0])

            def set_meta(self, key: str, value: str) -> None:  # pragma: no cover - not used
                raise AssertionError

        wait_for(lambda: bool(read_status(Meta())), timeout=30, what="the scheduler status")
        jobs = {j["job"]: j for j in read_status(Meta())["jobs"]}  # type: ignore[union-attr]
        assert {"collector:host", "rollups", "compaction", "retention", "flush", "health", "self"} <= set(
            jobs
        )
        assert jobs["rollups"]["interval_s"] == 60 and jobs["rollups"]["next_run_ms"] > now_ms()
        assert scrape(d.url).get(("pulse_job_duration_seconds_count", (("job", "rollups"),)), 0) == 0
        rid = JobRequests(engine).request("rollups", "admin", now_ms())
        JobRequests(engine).request("no-such-job", "admin", now_ms())
        wait_for(
            lambda: scrape(d.url).get(("pulse_job_duration_seconds_count", (("job", "rollups"),)), 0) >= 1,
            timeout=15,
            what="the rollups run asked for",
        )
        taken = {r.id: r for r in JobRequests(engine).recent()}
        assert taken[rid].taken_by and taken[rid].taken_by.endswith(f":{d.proc.pid}")
        assert taken[rid + 1].taken_ms is None  # no daemon has that job: left for another one
        with engine.connect() as conn:  # the daemon recorded itself
            names = {r[0] for r in conn.exec_driver_sql("SELECT DISTINCT metric FROM series")}
        assert {
            "pulse_process_cpu_seconds_total",
            "pulse_db_size_bytes",
            "pulse_notification_outbox",
        } <= names
        assert json.loads(Meta().get_meta("scheduler_status") or "{}")["daemon"].endswith(f":{d.proc.pid}")
    finally:
        d.kill()
