"""PulseScheduler with real APScheduler jobs, a real SQLite store and small in-test collectors."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

from collectors.base import Collector, Health
from core.kernel.errors import CollectFailed, CollectorError
from core.kernel.samples import Sample, labels_of, now_ms
from core.kernel.settings import Settings, load_settings
from core.runtime.scheduler import PulseScheduler, failure_reason
from core.runtime.selfmetrics import SelfMetrics
from core.runtime.spool import BufferedWriter
from core.storage.engine import make_engine
from core.storage.tsdb.store import Store, open_store

METRIC = "sched_test_value"
REFUSED_URL = "postgresql+psycopg://postgres@127.0.0.1:1/test"


class Good:
    def __init__(self, name: str = "good", interval: float = 0.2) -> None:
        self.name, self.interval, self.health = name, interval, Health()
        self.calls = 0

    def collect(self) -> list[Sample]:
        self.calls += 1
        self.ts = max(now_ms(), getattr(self, "ts", 0) + 1)  # distinct even within one millisecond
        return [Sample(METRIC, labels_of(collector=self.name), self.ts, float(self.calls))]


class Broken:
    name, interval = "broken", 0.2

    def __init__(self) -> None:
        self.health = Health()

    def collect(self) -> list[Sample]:
        raise RuntimeError("source unreachable")


class Hanging:
    name, interval = "hang", 0.2

    def __init__(self) -> None:
        self.health, self.release, self.calls = Health(), threading.Event(), 0

    def collect(self) -> list[Sample]:
        self.calls += 1
        self.release.wait(30)
        return []


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the deadline")
        time.sleep(0.05)


def value(sched: PulseScheduler, name: str, **labels: str) -> float | None:
    return sched.metrics.registry.get_sample_value(name, labels)


def stored(store: Store) -> int:
    df = store.select(METRIC, now_ms() - 600_000, now_ms() + 1000, step_ms=1, resolution="raw")
    return df.height


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{tmp_path}/pulse.db",
        data_dir=tmp_path,
        scheduler={"collector_timeout_s": 0.5, "misfire_grace_s": 5},
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = open_store(settings)
    yield s
    s.close()


def build(settings: Settings, store: Store, collectors: Sequence[Collector]) -> PulseScheduler:
    writer = BufferedWriter(store, settings.data_dir / "spool", max_buffer=1000, retry_interval_s=0)
    return PulseScheduler(settings, store, collectors, writer, SelfMetrics())


def test_good_collector_keeps_going_while_others_fail_or_hang(settings: Settings, store: Store) -> None:
    good, broken, hang = Good(), Broken(), Hanging()
    sched = build(settings, store, [good, broken, hang])
    try:
        sched.start()
        wait_for(lambda: stored(store) >= 5 and hang.health.consecutive_failures >= 2)
        health = sched.health()
        assert health["good"].ok and health["good"].last_success_ms is not None
        assert not health["broken"].ok and health["broken"].last_error == "RuntimeError: source unreachable"
        assert not health["hang"].ok
        assert hang.calls == 1  # the stuck call is abandoned, never started again while stuck
        assert [t.name for t in threading.enumerate()].count("pulse-collect-hang") == 1
        assert value(sched, "pulse_collector_up", collector="good") == 1
        assert value(sched, "pulse_collector_up", collector="hang") == 0
        assert (value(sched, "pulse_collector_errors_total", collector="broken") or 0) >= 2
        assert (value(sched, "pulse_samples_ingested_total") or 0) >= 5
        assert value(sched, "pulse_job_lag_seconds", job="collector:good") is not None
    finally:
        hang.release.set()
        sched.shutdown()
    assert not sched.running
    calls = good.calls
    time.sleep(0.5)
    assert good.calls == calls  # no job runs after shutdown


def test_run_once_records_timeout_reason_and_recovery(settings: Settings, store: Store) -> None:
    hang = Hanging()
    sched = build(settings, store, [hang])
    t0 = time.monotonic()
    h = sched.run_collector_once("hang")
    assert time.monotonic() - t0 < 2
    assert (h.ok, h.last_error) == (False, "timed out after 0.5s")
    h = sched.run_collector_once("hang")
    assert h.last_error is not None and h.last_error.startswith("hung:") and h.consecutive_failures == 2
    hang.release.set()
    wait_for(lambda: sched.run_collector_once("hang").ok, timeout=5)
    assert hang.calls == 2
    sched.shutdown()


def test_shutdown_flushes_what_was_buffered_during_a_lock(settings: Settings, store: Store) -> None:
    @sa.event.listens_for(store.engine, "connect")
    def _short(dbapi_conn: sqlite3.Connection, _rec: object) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=50")

    store.engine.dispose()
    good = Good()
    sched = build(settings, store, [good])
    lock = sqlite3.connect(settings.url.removeprefix("sqlite:///"), isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    for _ in range(3):
        assert sched.run_collector_once("good").ok  # the collector is fine; the store is not
    assert sched.writer.pending == 3 and stored(store) == 0
    lock.execute("ROLLBACK")
    lock.close()
    sched.shutdown()
    assert sched.writer.pending == 0 and stored(store) == 3


def test_shutdown_with_the_database_down_spills_and_a_new_run_recovers(
    settings: Settings, store: Store
) -> None:
    down = Store(make_engine(REFUSED_URL), settings)
    sched = build(settings, down, [Good()])
    for _ in range(4):
        sched.run_collector_once("good")
    sched.shutdown()
    assert len(list((settings.data_dir / "spool").glob("spool-*.jsonl"))) == 1
    writer = BufferedWriter(store, settings.data_dir / "spool", max_buffer=1000)
    assert writer.flush() and stored(store) == 4


def test_maintenance_errors_are_counted_not_fatal(settings: Settings, store: Store) -> None:
    down = build(settings, Store(make_engine(REFUSED_URL), settings), [])
    up = build(settings, store, [])
    try:
        for s in (down, up):
            s.start()
            for job in ("rollups", "compaction", "retention", "flush"):
                s.run_job_now(job)
        jobs = ("rollups", "compaction", "retention")
        wait_for(lambda: all(value(down, "pulse_job_errors_total", job=j) == 1 for j in jobs))
        wait_for(lambda: all(value(up, "pulse_job_lag_seconds", job=j) is not None for j in jobs))
        assert all(value(up, "pulse_job_errors_total", job=j) is None for j in jobs)
        assert down.running and up.running
    finally:
        down.shutdown()
        up.shutdown()


def test_a_failing_collector_backs_off_doubling_with_jitter_then_recovers(
    settings: Settings, store: Store
) -> None:
    now = [1000.0]
    broken = Broken()
    broken.interval = 10.0
    writer = BufferedWriter(store, settings.data_dir / "spool", max_buffer=1000, retry_interval_s=0)
    sched = PulseScheduler(settings, store, [broken], writer, SelfMetrics(), clock=lambda: now[0])
    runs = []
    for _tick in range(40):  # 400 s of ticks, 10 s apart
        before = broken.health.consecutive_failures
        sched.scheduled_collect("broken")
        if broken.health.consecutive_failures > before:
            runs.append(now[0])
        now[0] += 10
    gaps = [b - a for a, b in zip(runs, runs[1:], strict=False)]
    assert gaps[:2] == [10, 20]  # doubling (+-20% jitter cannot move these by a whole 10 s tick)
    for n, gap in enumerate(gaps[2:], start=2):  # later: within the jitter, rounded to a tick
        base = min(10 * 2**n, settings.scheduler.backoff_max_s)
        assert base * 0.8 - 5 <= gap <= base * 1.2 + 10, (n, gap)
    skipped = value(sched, "pulse_collector_skipped_total", collector="broken")
    assert skipped == 40 - len(runs)
    assert sched.run_collector_once("broken").consecutive_failures == len(runs) + 1  # a direct run ignores it
    sched.shutdown()


def test_backoff_is_capped_and_jittered(settings: Settings, store: Store) -> None:
    capped = settings.scheduler.model_copy(update={"backoff_max_s": 60})
    sched = build(settings.model_copy(update={"scheduler": capped}), store, [Good()])
    waits = {round(sched.backoff_s(10, 12), 3) for _ in range(50)}
    assert all(48 <= w <= 72 for w in waits) and len(waits) > 10
    assert 8 <= sched.backoff_s(10, 1) <= 12
    sched.shutdown()


class Refused:
    """Fails with a CollectorError in its own words, as the host and postgres collectors do."""

    name, interval = "self", 0.2

    def __init__(self) -> None:
        self.health = Health()

    def collect(self) -> list[Sample]:
        raise CollectorError("postgres at 127.0.0.1:1 refused the connection")


def test_a_collector_error_is_booked_once_in_the_collectors_own_words(
    settings: Settings, store: Store
) -> None:
    c = Refused()
    sched = build(settings, store, [c])
    h = sched.run_collector_once("self")
    assert h.consecutive_failures == 1 and h.last_error == "postgres at 127.0.0.1:1 refused the connection"
    assert sched.run_collector_once("self").consecutive_failures == 2
    assert value(sched, "pulse_collector_errors_total", collector="self") == 2
    sched.shutdown()


class TargetDown:
    """Fails with a CollectFailed that still carries what it measured (the target's ``up`` 0)."""

    name, interval = "down", 0.2

    def __init__(self) -> None:
        self.health, self.calls = Health(), 0

    def collect(self) -> list[Sample]:
        self.calls += 1
        up = Sample(METRIC, labels_of(collector=self.name), now_ms() + self.calls, 0.0)
        raise CollectFailed("target 127.0.0.1:1 is down", [up])


class Subclassed(CollectFailed):
    """A named CollectFailed (as ScrapeError, McpProbeError): shown with its name first."""


def test_a_failed_collects_declared_samples_are_written_and_its_failure_counted_once(
    settings: Settings, store: Store
) -> None:
    c = TargetDown()
    sched = build(settings, store, [c])
    h = sched.run_collector_once("down")
    assert (h.ok, h.consecutive_failures, h.last_error) == (False, 1, "target 127.0.0.1:1 is down")
    assert value(sched, "pulse_collector_errors_total", collector="down") == 1
    sched.writer.flush()
    df = store.select(METRIC, now_ms() - 600_000, now_ms() + 1000, step_ms=1, resolution="raw")
    assert df.height == 1 and df["value"].to_list() == [0.0]  # the declared sample, written once
    assert sched.run_collector_once("down").consecutive_failures == 2 and c.calls == 2
    assert value(sched, "pulse_collector_errors_total", collector="down") == 2
    sched.writer.flush()
    assert stored(store) == 2
    assert failure_reason(Subclassed("x", [])) == "Subclassed: x"
    assert failure_reason(CollectFailed("x")) == "x" and failure_reason(CollectorError("x")) == "x"
    assert failure_reason(ValueError("x")) == "ValueError: x"
    sched.shutdown()
