"""The leader's check of the UI rules: nothing happens while their version stands still; a change
swaps the alerting service and its jobs (a new group scheduled, a deleted one's alerts resolved)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.admin.audit import Actor
from core.admin.rules import RuleAdmin
from core.kernel.records.ui_rules import UiRuleRecord
from core.kernel.settings import Settings, load_settings
from core.runtime.alert_jobs import JobGate
from core.runtime.leadership import UI_RULES_JOB, LeaderDuties
from core.runtime.scheduler import PulseScheduler
from core.runtime.selfmetrics import SelfMetrics
from core.runtime.spool import BufferedWriter
from core.storage.repos.ui_rules import UiRuleRepo
from core.storage.tsdb import Store, open_store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path, collectors=[],
        alerting={"default_rules": False, "evaluation_interval_s": 30},
    )  # fmt: skip


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = open_store(settings)
    yield s
    s.close()


def test_the_check_reloads_only_after_a_change(settings: Settings, store: Store) -> None:
    writer = BufferedWriter(store, settings.data_dir / "spool", max_buffer=1000, retry_interval_s=0)
    sched = PulseScheduler(settings, store, [], writer, SelfMetrics(), maintenance=False)
    duties = LeaderDuties(settings, store, sched)
    told: list[object] = []
    duties.on_alerting = told.append
    admin = RuleAdmin(UiRuleRepo(store.engine), settings, Actor("ada"), store.now_ms)
    try:
        duties.gain(takeover=False)
        first = duties.alerting
        assert first is not None and first.groups == {} and sched.has_job(UI_RULES_JOB)
        assert duties.check_ui_rules() is False and duties.alerting is first  # nothing changed

        admin.create("queues", "alert: QueueDeep\nquery: queue_depth\nthreshold: 1\n")
        assert duties.check_ui_rules() is True
        second = duties.alerting
        assert second is not first and second is not None and second.groups == {"queues": 30}
        assert sched.has_job("alerts:queues") and sched.has_job("alerts:notify") and told[-1] is second
        assert duties.check_ui_rules() is False

        rec = admin.repo.get("queues", "QueueDeep")
        assert rec is not None
        admin.delete("queues", "QueueDeep", rec.revision)
        assert duties.check_ui_rules() is True and duties.alerting is not None
        assert duties.alerting.groups == {} and not sched.has_job("alerts:queues")
        duties.lose()
        assert not sched.has_job(UI_RULES_JOB)
    finally:
        sched.shutdown()


def test_a_reload_that_fails_keeps_the_rules_in_force(tmp_path: Path) -> None:
    rules = tmp_path / "team.rules.yml"
    rules.write_text("groups:\n  - name: team\n    rules:\n      - alert: TeamDown\n        query: up\n")
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path, collectors=[],
        alerting={"default_rules": False, "rule_files": [str(rules)]},
    )  # fmt: skip
    store = open_store(settings)
    writer = BufferedWriter(store, settings.data_dir / "spool", max_buffer=1000, retry_interval_s=0)
    sched = PulseScheduler(settings, store, [], writer, SelfMetrics(), maintenance=False)
    duties = LeaderDuties(settings, store, sched)
    try:
        duties.gain(takeover=False)
        before = duties.alerting
        rules.unlink()  # the file cannot be read any more: a new service cannot be built
        UiRuleRepo(store.engine).add(
            [UiRuleRecord("queues", "QueueDeep", "alert: QueueDeep\nquery: q\n", True, "a", 1)]
        )
        assert duties.check_ui_rules() is True
        assert duties.alerting is before and sched.has_job("alerts:team") and sched.has_job("alerts:notify")
        assert duties.check_ui_rules() is False  # tried once per change, not at every check
    finally:
        sched.shutdown()
        store.close()


def test_the_gate_waits_for_runs_in_progress_and_starts_no_new_one() -> None:
    gate, started, release, ran = JobGate(), threading.Event(), threading.Event(), []

    def slow() -> None:
        started.set()
        release.wait(5)
        ran.append("slow")

    worker = threading.Thread(target=gate.wrap(slow))
    worker.start()
    started.wait(5)
    assert gate.close(timeout_s=0.1) is False  # still running
    release.set()
    assert gate.close(timeout_s=5) is True
    gate.wrap(lambda: ran.append("late"))()
    worker.join()
    assert ran == ["slow"]


def test_a_ui_group_is_scheduled_at_its_own_interval(settings: Settings, store: Store) -> None:
    """A UI group with a group_interval runs at it, others at the global interval (30 s here);
    an edit of the interval reschedules the group at the next check."""
    writer = BufferedWriter(store, settings.data_dir / "spool", max_buffer=1000, retry_interval_s=0)
    sched = PulseScheduler(settings, store, [], writer, SelfMetrics(), maintenance=False)
    duties = LeaderDuties(settings, store, sched)
    admin = RuleAdmin(UiRuleRepo(store.engine), settings, Actor("ada"), store.now_ms)

    def every() -> dict[str, object]:
        return {j["job"]: j["interval_s"] for j in sched.jobs() if str(j["job"]).startswith("alerts:")}

    try:
        admin.create("fast", "alert: QueueDeep\nquery: queue_depth\nthreshold: 1\ngroup_interval: 7s\n")
        admin.create("usual", "alert: DiskFull\nquery: disk_ratio\nthreshold: 0.9\n")
        duties.gain(takeover=False)
        assert duties.alerting is not None and duties.alerting.groups == {"fast": 7, "usual": 30}
        jobs = every()
        assert (jobs["alerts:fast"], jobs["alerts:usual"], jobs[UI_RULES_JOB]) == (7, 30, 10)

        rec = admin.repo.get("fast", "QueueDeep")
        assert rec is not None
        text = rec.rule_yaml.replace("7s", "2m")
        admin.update("fast", "QueueDeep", rec.revision, "fast", text, True)
        assert duties.check_ui_rules() is True
        assert every()["alerts:fast"] == 120 and every()["alerts:usual"] == 30
        duties.lose()
    finally:
        sched.shutdown()
