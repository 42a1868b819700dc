"""AppTest of the Self-monitoring page (admins): Pulse's figures with the budget line, the
scheduler and "run now" through the database, the Grafana and Prometheus files; other roles refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.storage.repos.job_requests import JobRequests, write_status
from core.storage.tsdb import open_store
from tests.pages.conftest import AppFactory, add_users

PAGE = "pages/admin_self.py"


def record_self(url: str) -> None:
    """Two hours of Pulse's own figures (daemon 1 %, UI 1.5 % of a 4-CPU machine) and a scheduler report."""
    store = open_store(load_settings(database_url=url))
    now = int(time.time() * 1000)
    batch: list[Sample] = []
    for ts in range(now - 7_200_000, now + 1, 15_000):
        secs = (ts - now) / 1000 + 7200
        for role, share, rss in (("daemon", 0.01, 90e6), ("ui", 0.015, 250e6)):
            lb = labels_of(process=role, instance=f"box:{len(role)}")
            batch += [
                Sample("pulse_process_cpu_seconds_total", lb, ts, share * 4 * secs),
                Sample("pulse_process_resident_memory_bytes", lb, ts, rss),
                Sample("pulse_process_machine_cpus", lb, ts, 4.0),
            ]
        batch += [
            Sample("pulse_db_size_bytes", (), ts, 50e6 + secs * 100),
            Sample("pulse_ingest_lag_seconds", (), ts, 0.4),
            Sample("pulse_job_duration_seconds", labels_of(job="rollups"), ts, 0.12),
            Sample("pulse_job_duration_seconds", labels_of(job="collector:host"), ts, 0.01),
            Sample("pulse_samples_rejected_total", labels_of(reason="too_old"), ts, float(int(secs) // 600)),
            Sample("pulse_spool_samples", (), ts, 0.0),
            Sample("pulse_spool_bytes", (), ts, 0.0),
            Sample("pulse_notification_outbox", (), ts, 2.0),
        ]
    store.write(batch)
    jobs = [
        {
            "job": "rollups",
            "interval_s": 60,
            "next_run_ms": now + 30_000,
            "last_run_ms": now - 30_000,
            "last_duration_s": 0.12,
            "last_error": None,
            "runs": 9,
            "errors": 0,
        },
        {
            "job": "collector:host",
            "interval_s": 15,
            "next_run_ms": now + 5_000,
            "last_run_ms": now - 10_000,
            "last_duration_s": 0.01,
            "last_error": "=cmd|' /C calc'!A0",
            "runs": 40,
            "errors": 3,
        },
    ]
    write_status(store, {"daemon": "box:4242", "reported_ms": now, "jobs": jobs})
    store.close()


@pytest.fixture
def self_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/self.db"
    record_self(url)
    add_users(url)
    return url


def test_admin_sees_the_figures_and_the_budget_line(app: AppFactory, self_url: str) -> None:
    at = app(self_url, PAGE)
    assert not at.exception
    assert at.title[0].value == "Self-monitoring"
    tiles = {m.label: m for m in at.metric}
    cpu = tiles["Pulse CPU"]
    assert cpu.value == "2.50%" and "over budget" in str(cpu.proto.delta)
    assert tiles["Notification outbox"].value == "2"
    assert str(tiles["Database size"].proto.delta).endswith(" per day")  # two hours of history
    assert (tiles["Daemon memory"].value, tiles["Dashboard memory"].value) == ("85.8 MiB", "238.4 MiB")
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["layout"]["shapes"][0]["y0"] == 0.02  # the budget, drawn as a line
    assert {t["name"] for t in fig["data"]} == {"daemon", "ui", "total"}
    jobs = at.dataframe[0].value
    assert list(jobs["job"])[0] == "collector:host"  # the failing job first
    assert list(jobs["last_error"])[0].startswith("'=cmd")  # a value from outside, neutralised
    assert any("job_name: pulse" in code.value and "9464" in code.value for code in at.code)
    assert any(b.label.startswith("Grafana dashboards") for b in at.get("download_button"))


def test_a_daemon_two_minutes_old_is_warming_up_and_has_no_growth_yet(
    app: AppFactory, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/young.db"
    store = open_store(load_settings(database_url=url))
    now = int(time.time() * 1000)
    t0 = now - 150_000
    lb = labels_of(process="daemon", instance="box:7")
    batch: list[Sample] = []
    for ts in range(t0, now + 1, 15_000):
        secs = (ts - t0) / 1000
        batch += [  # 10 % of two CPUs and 50 MB a minute: a start's catch-up, not its steady cost
            Sample("pulse_process_cpu_seconds_total", lb, ts, 2.0 + 0.2 * secs),
            Sample("pulse_process_machine_cpus", lb, ts, 2.0),
            Sample("pulse_process_start_time_seconds", lb, ts, t0 / 1000 - 5),
            Sample("pulse_db_size_bytes", (), ts, 10e6 + 50e6 * secs / 60),
        ]
    store.write(batch)
    store.close()
    add_users(url)
    at = app(url, PAGE)
    assert not at.exception
    tiles = {m.label: m for m in at.metric}
    cpu, db = str(tiles["Pulse CPU"].proto.delta), str(tiles["Database size"].proto.delta)
    assert cpu.startswith("warming up (") and cpu.endswith(" of 5 min)") and "budget" not in cpu
    assert db == "not enough history yet"  # the whole would not fit in the tile: said below it
    [said] = [c.value for c in at.caption if "Database growth per day" in c.value]
    assert (
        said.startswith("Database growth per day: not enough history yet (") and " of 60 min needed)" in said
    )


def test_run_now_asks_the_daemon_through_the_database(app: AppFactory, self_url: str) -> None:
    at = app(self_url, PAGE)
    at.selectbox(key="selfmon.job").set_value("rollups").run()
    at.button[0].click().run()
    assert not at.exception and any("rollups" in s.value for s in at.success)
    (req,) = JobRequests(sa.create_engine(self_url)).recent()
    assert (req.job, req.requested_by, req.taken_ms) == ("rollups", "admin", None)


def test_an_empty_store_says_what_to_start(app: AppFactory, empty_url: str) -> None:
    """No daemon yet: no jobs; the dashboard process has recorded its own figures already."""
    at = app(empty_url, PAGE)
    assert not at.exception
    assert any("has not reported its jobs" in i.value for i in at.info)
    assert not at.dataframe
    store = open_store(load_settings(database_url=empty_url))
    try:
        ui = store.series('pulse_process_resident_memory_bytes{process="ui"}')
    finally:
        store.close()
    assert ui.height == 1


@pytest.mark.parametrize("user", ["lead", "dev", "viewer"])
def test_other_roles_may_not_open_it(app: AppFactory, self_url: str, user: str) -> None:
    at = app(self_url, PAGE, user=user)
    assert any("may not open Self-monitoring" in e.value for e in at.error), user
    assert not at.metric and not at.code and not at.dataframe
