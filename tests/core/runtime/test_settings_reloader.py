"""core.runtime.settings_reload in process, on a real store and scheduler: a new revision
rebuilds what changed (collectors, the leader's alerting, maintenance intervals, the store's
retention), an unchanged revision does nothing, and a revision this daemon cannot validate is
logged and skipped with the settings in effect kept."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.registry import build_collectors
from core.admin.audit import Actor
from core.admin.settings import SettingsService
from core.kernel.samples import now_ms
from core.kernel.settings import Settings, load_settings
from core.runtime.leadership import LeaderDuties
from core.runtime.scheduler import PulseScheduler
from core.runtime.selfmetrics import SelfMetrics
from core.runtime.settings_reload import SettingsReloader
from core.runtime.spool import BufferedWriter
from core.storage.repos.settings import SettingsRepo
from core.storage.tsdb import Store, open_store

ROOT = Actor("root")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path, collectors=["host"],
        alerting={"default_rules": False}, snapshots={"enabled": False},
    )  # fmt: skip


@pytest.fixture
def parts(settings: Settings) -> Iterator[tuple[Store, PulseScheduler, LeaderDuties, SettingsReloader]]:
    store = open_store(settings)
    writer = BufferedWriter(store, settings.data_dir / "spool", max_buffer=1000, retry_interval_s=0)
    sched = PulseScheduler(
        settings, store, build_collectors(settings), writer, SelfMetrics(), maintenance=False
    )
    duties = LeaderDuties(settings, store, sched)
    duties.gain(takeover=False)
    reloader = SettingsReloader(settings, store, sched, duties, now_ms)
    yield store, sched, duties, reloader
    duties.lose()
    sched.shutdown()
    store.close()


def interval(sched: PulseScheduler, job: str) -> float | None:
    return next((j["interval_s"] for j in sched.jobs() if j["job"] == job), None)  # type: ignore[return-value]


def test_a_new_revision_rebuilds_what_changed(
    settings: Settings, parts, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    store, sched, duties, reloader = parts
    service = SettingsService(settings, SettingsRepo(store.engine), store.now_ms)
    reloader.start()
    assert reloader.revision == 0 and sched.has_job("settings") and interval(sched, "settings") == 5
    host = sched.collectors["host"]
    old_alerting = duties.alerting
    service.update("collectors", ["host", "demo"], ROOT)
    service.update("retention", {"raw_days": 2}, ROOT)
    service.update("scheduler", {"rollup_interval_s": 120, "settings_poll_s": 2}, ROOT)
    service.update("alerting", {"evaluation_interval_s": 30}, ROOT)
    with caplog.at_level(logging.INFO, "pulse.settings"):
        assert reloader.check() == 4
    assert set(sched.collectors) == {"host", "demo"} and sched.collectors["demo"].interval == 15
    assert sched.collectors["host"] is host  # unchanged: not rebuilt
    assert store.settings.retention.raw_days == 2 and sched.settings.retention.raw_days == 2
    assert interval(sched, "rollups") == 120 and interval(sched, "settings") == 2
    assert duties.alerting is not None and duties.alerting is not old_alerting
    assert duties.settings.alerting.evaluation_interval_s == 30
    lines = [r.getMessage() for r in caplog.records]
    assert "settings revision 4: retention changed: raw_days: 7 -> 2.0" in lines
    assert "settings revision 4: collector 'demo' started, every 15s" in lines
    assert not any("collector 'host'" in line for line in lines)
    assert reloader.check() is None  # the same revision: nothing to do


def test_a_new_misfire_grace_reaches_every_job_and_those_added_later(settings: Settings, parts) -> None:  # type: ignore[no-untyped-def]
    store, sched, _, reloader = parts
    service = SettingsService(settings, SettingsRepo(store.engine), store.now_ms)
    reloader.start()
    graces = lambda: {j.id: j.misfire_grace_time for j in sched._sched.get_jobs()}  # noqa: E731
    assert set(graces().values()) == {settings.scheduler.misfire_grace_s}
    service.update("scheduler", {"misfire_grace_s": 7}, ROOT)
    assert reloader.check() == 1
    assert set(graces().values()) == {7} and "collector:host" in graces()
    service.update("collectors", ["host", "demo"], ROOT)  # a collector started after the change
    reloader.check()
    assert graces()["collector:demo"] == 7


def test_a_revision_that_does_not_validate_is_skipped(
    settings: Settings, parts, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    store, sched, _, reloader = parts
    SettingsRepo(store.engine).save({"host": {"interval_s": -3}}, "someone", store.now_ms())
    with caplog.at_level(logging.ERROR, "pulse.settings"):
        assert reloader.check() is None
    assert reloader.revision == 1 and reloader.current is settings
    assert any("settings revision 1 not applied" in r.getMessage() and "host.interval_s" in r.getMessage()
               for r in caplog.records)  # fmt: skip
