"""The leader election policy over the real locks, the leader's duties on a real scheduler, and a
second daemon on one SQLite file refused."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.cli.main import ROOT
from core.kernel.settings import Settings, load_settings
from core.runtime.leadership import LeaderDuties, Leadership
from core.runtime.scheduler import PulseScheduler
from core.runtime.selfmetrics import SelfMetrics
from core.runtime.spool import BufferedWriter
from core.storage.leader_lock import PgAdvisoryLock, leader_lock
from core.storage.tsdb import Store, open_store
from tests.daemons import Daemon, sqlite_env
from tests.tcpproxy import TcpProxy

MAINTENANCE = ("rollups", "compaction", "retention")


class Node:
    """A Leadership on a real lock whose duties are a list of what happened."""

    def __init__(self, url: str, name: str, fail_gain: bool = False) -> None:
        self.events: list[str] = []
        self.fail_gain = fail_gain
        self.metrics = SelfMetrics()
        self.lead = Leadership(leader_lock(url, name), name, 0.5, self.gain, self.lose, self.metrics)

    def gain(self, takeover: bool) -> None:
        if self.fail_gain:
            raise RuntimeError("the rule files cannot be read")
        self.events.append("gain-takeover" if takeover else "gain")

    def lose(self) -> None:
        self.events.append("lose")

    @property
    def gauge(self) -> float | None:
        return self.metrics.registry.get_sample_value("pulse_leader")


@pytest.mark.postgres
def test_one_leads_the_other_follows_and_takes_over_when_the_lock_is_lost(
    pg_schema_url: str, pg_server_url: str
) -> None:
    a, b = Node(pg_schema_url, "node-a"), Node(pg_schema_url, "node-b")
    try:
        assert a.lead.step() and not b.lead.step()
        assert a.lead.step() and not b.lead.step()  # steady: the leader's check holds, no new gain
        assert (a.events, b.events) == (["gain"], [])
        assert (a.gauge, b.gauge) == (1, 0)
        assert b.lead.holder() == "pulse-leader:node-a"

        admin = sa.create_engine(pg_server_url, poolclass=sa.pool.NullPool)
        with admin.connect() as conn:  # the leader's lock connection dies
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = :n"
                ),
                {"n": "pulse-leader:node-a"},
            )
        admin.dispose()
        assert b.lead.step()  # the follower has the lock at its next poll ...
        assert not a.lead.step()  # ... and the old leader steps down at its next check
        assert a.events == ["gain", "lose"] and b.events == ["gain"]
        assert (a.gauge, b.gauge) == (0, 1)
        assert a.metrics.registry.get_sample_value("pulse_leader_changes_total") == 2
        assert not a.lead.step()  # a follower now
    finally:
        a.lead.stop()
        b.lead.stop()
    assert b.events == ["gain", "lose"] and b.gauge == 0  # stopping gives the lead up


@pytest.mark.postgres
def test_duties_that_cannot_start_give_the_lock_up(pg_schema_url: str) -> None:
    broken, other = Node(pg_schema_url, "node-a", fail_gain=True), Node(pg_schema_url, "node-b")
    try:
        with pytest.raises(RuntimeError, match="rule files"):
            broken.lead.step(strict=True)  # at start-up the error stops the daemon
        assert not broken.lead.step()  # later it is logged, and the lock released
        assert broken.events == ["lose", "lose"] and broken.gauge == 0
        assert other.lead.step()  # so another daemon can lead
    finally:
        broken.lead.stop()
        other.lead.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path, collectors=[])


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = open_store(settings)
    yield s
    s.close()


def test_the_duties_add_and_remove_maintenance_and_alerting_jobs(settings: Settings, store: Store) -> None:
    writer = BufferedWriter(store, settings.data_dir / "spool", max_buffer=1000, retry_interval_s=0)
    sched = PulseScheduler(settings, store, [], writer, SelfMetrics(), maintenance=False)
    duties = LeaderDuties(settings, store, sched)
    try:
        assert sched.has_job("flush") and not any(sched.has_job(j) for j in MAINTENANCE)
        duties.gain(takeover=False)
        assert duties.alerting is not None and duties.alerting.engine_rules > 0  # the default rules
        groups = [f"alerts:{g}" for g in duties.alerting.groups]
        assert all(sched.has_job(j) for j in (*MAINTENANCE, "alerts:notify", *groups))
        duties.lose()
        assert duties.alerting is None
        assert not any(sched.has_job(j) for j in (*MAINTENANCE, "alerts:notify", *groups))
        assert sched.has_job("flush")  # a follower still writes what it collects
    finally:
        sched.shutdown()


def test_a_second_daemon_on_one_sqlite_file_is_refused(tmp_path: Path, daemons: list[Daemon]) -> None:  # noqa: F811
    env = sqlite_env(tmp_path, PULSE_COLLECTORS="[]", PULSE_CLUSTER__NODE_NAME="first")
    first = Daemon(tmp_path, env)
    daemons.append(first)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    second = subprocess.run(
        [sys.executable, "-m", "core.cli", "collect", "--metrics-port", "0"],
        cwd=ROOT,
        env={**clean, **env, "PULSE_CLUSTER__NODE_NAME": "second", "PULSE_DATA_DIR": str(tmp_path / "d2")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode != 0
    message = " ".join(second.stderr.split())
    assert (
        f"another `pulse collect` (first pid {first.proc.pid}) already runs on this SQLite database"
        in message
    )
    assert "move to PostgreSQL to run several daemons" in message and "Traceback" not in second.stderr
    assert first.proc.poll() is None and first.value("pulse_leader") == 1  # the first runs on, leading
    first.proc.terminate()
    assert first.wait() == 0


class FreezingProxy(TcpProxy):
    """A forwarder that can stop passing bytes while keeping every socket open: to the leader, a
    network path that went silent (no error, no answer)."""

    def __init__(self, target: tuple[str, int]) -> None:
        super().__init__(target)
        self.frozen = threading.Event()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:  # type: ignore[override]
        try:
            while data := src.recv(65536):
                while self.frozen.is_set():
                    time.sleep(0.05)
                dst.sendall(data)
        except OSError:
            pass


@pytest.mark.postgres
def test_a_leader_whose_lock_check_does_not_answer_steps_down(pg_schema_url: str) -> None:
    real = sa.make_url(pg_schema_url)
    proxy = FreezingProxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.start()
    via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    events: list[str] = []
    lead = Leadership(
        PgAdvisoryLock(via_proxy, "node-a", lost_after_s=3),  # the check's deadline: 1 s
        "node-a",
        0.5,
        lambda takeover: events.append("gain"),
        lambda: events.append("lose"),
        SelfMetrics(),
    )
    try:
        assert lead.step() and lead.step()
        proxy.frozen.set()
        t0 = time.monotonic()
        assert not lead.step()  # the check is cut at its deadline: the leader stops leading
        took = time.monotonic() - t0
        assert took < 3, f"the leader noticed after {took:.1f} s, not before its lock could be released"
        assert events == ["gain", "lose"]
    finally:
        proxy.frozen.clear()
        lead.stop()
        proxy.cut()
