"""``pulse collect`` end to end: a real daemon process with real collectors, /metrics scraped over
HTTP, the store and the collector health read back, SIGTERM, and a database outage across restarts."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from core.cli.main import ROOT
from core.kernel.samples import Labels, labels_of
from core.kernel.settings import load_settings
from core.runtime.daemon import run_daemon
from core.storage.repos.health_report import read_report as read_health
from core.storage.tsdb import Store, open_store
from tests.tcpproxy import TcpProxy

Scraped = dict[tuple[str, tuple[tuple[str, str], ...]], float]
FIRST_LINE = "pulse collect: collectors "


def scrape(url: str) -> Scraped:
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def wait_for(cond: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.1)


class Daemon:
    """``python -m core.cli collect ...`` as a child process; stdout read line by line in a thread."""

    def __init__(self, folder: Path, env: dict[str, str], *argv: str) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        self.log = folder / f"daemon-{time.monotonic_ns()}.log"
        self._err = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "collect", "--metrics-port", "0", *argv],
            cwd=ROOT,
            env={**clean, **env},
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        first = self.next_line(timeout=30)
        if not first.startswith(FIRST_LINE):
            self.kill()
            raise AssertionError(f"unexpected first line {first!r}\n{self.stderr()}")
        self.url = first.rsplit("metrics at ", 1)[1].strip()
        assert self.url.startswith("http://127.0.0.1:") and self.url.endswith("/metrics")
        assert int(self.url.split(":")[2].split("/")[0]) > 0  # the port the daemon picked

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.append(line)
            self.lines.put(line)

    def next_line(self, timeout: float) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise AssertionError(f"no output from the daemon within {timeout} s\n{self.stderr()}") from None

    def scrape(self) -> Scraped:
        return scrape(self.url)

    def value(self, name: str, **labels: str) -> float | None:
        return self.scrape().get((name, tuple(sorted(labels.items()))))

    def wait(self, timeout: float = 30) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the daemon did not stop within {timeout} s\n{self.stderr()}") from None
        time.sleep(0.1)  # let the reader thread take the last lines
        self._err.close()
        return rc

    def stdout(self) -> str:
        return "".join(self.out)

    def stderr(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.log.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons started by a test; killed after it if still running."""
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def sqlite_env(folder: Path, **extra: str) -> dict[str, str]:
    return {
        "PULSE_DATABASE_URL": f"sqlite:///{folder}/pulse.db",
        "PULSE_DATA_DIR": str(folder / "data"),
        **extra,
    }


def open_at(url: str) -> Store:
    return open_store(load_settings(database_url=url))


Key = tuple[str, Labels, int]


def stored(store: Store, metric: str, start_ms: int, end_ms: int) -> dict[Key, float]:
    """The raw samples of ``metric`` with start_ms <= ts < end_ms: (metric, labels, ts) -> value."""
    ser = store.series(metric)
    labels = {
        sid: labels_of(**lb) for sid, lb in zip(ser["id"].to_list(), ser["labels"].to_list(), strict=True)
    }
    df = store.raw(list(labels), start_ms, end_ms)
    return {
        (metric, labels[sid], ts): v
        for sid, ts, v in zip(
            df["series_id"].to_list(), df["ts"].to_list(), df["value"].to_list(), strict=True
        )
    }


# -- the daemon as a program, on SQLite ------------------------------------------------------------


def test_collect_runs_for_a_while_serves_metrics_and_stores_everything(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    # the demo stamps its samples at the clock aligned down to its 15 s interval
    since_ms = int(time.time() * 1000) // 15_000 * 15_000 - 1000
    d = Daemon(tmp_path, sqlite_env(tmp_path), "--run-for", "6")
    daemons.append(d)
    assert d.url and "collectors host, demo;" in d.out[0]

    # while it runs: its own metrics over HTTP
    wait_for(
        lambda: (
            (d.value("pulse_collector_up", collector="host") == 1)
            and (d.value("pulse_collector_up", collector="demo") == 1)
            # the demo fleet alone has hundreds of series; they land at the writer's next flush
            and (d.value("pulse_samples_ingested_total") or 0) > 500
        ),
        what="both collectors up and their samples ingested",
    )
    v = d.scrape()
    assert v["process_resident_memory_bytes", ()] > 10_000_000
    assert v["pulse_collector_errors_total", (("collector", "host"),)] == 0
    assert v["pulse_collector_duration_seconds_count", (("collector", "demo"),)] >= 1
    assert v["pulse_buffered_samples", ()] == 0
    assert ("pulse_db_write_duration_seconds_count", ()) in v

    assert d.wait() == 0, d.stderr()
    assert d.stdout().endswith("pulse collect: stopped; buffered samples flushed\n")
    assert "Traceback" not in d.stderr()
    ended_ms = int(time.time() * 1000)

    store = open_at(f"sqlite:///{tmp_path}/pulse.db")
    try:
        host_up = stored(store, "host_up", since_ms, ended_ms)
        assert host_up and set(host_up.values()) == {1.0}
        # the real machine, and the demo fleet's simulated hosts under the same metric names
        demo_hosts = {labels_of(host=f"host-0{i}") for i in range(1, 7)}
        assert {lb for _, lb, _ in host_up} == {labels_of(host=socket.gethostname())} | demo_hosts
        assert stored(store, "host_memory_used_bytes", since_ms, ended_ms)
        metrics = store.metrics()
        assert sum(m.startswith("host_") for m in metrics) >= 5
        assert {"mcp_server_up", "container_cpu_usage_cores", "platform_active_users"} <= set(metrics)
        demo_servers = store.select("mcp_server_up", since_ms, ended_ms, resolution="raw", step_ms=1)
        assert demo_servers.height > 0 and set(demo_servers["host"]) <= {f"host-0{i}" for i in range(1, 7)}

        # collector health: in meta for the dashboard, and as samples with a history
        health = read_health(store)
        assert set(health) == {"host", "demo"}
        for name, h in health.items():
            assert h["state"] == "up" and h["last_error"] is None, (name, h)
            assert isinstance(h["last_success_ms"], int) and since_ms <= h["last_success_ms"] <= ended_ms
            assert h["interval_s"] == 15
        up = stored(store, "pulse_collector_up", since_ms, ended_ms)
        assert {lb for _, lb, _ in up} == {labels_of(collector="host"), labels_of(collector="demo")}
        assert set(up.values()) == {1.0}
    finally:
        store.close()
    assert list((tmp_path / "data" / "spool").iterdir()) == []  # nothing left in the spool


def test_sigterm_stops_it_cleanly_and_flushes(tmp_path: Path, daemons: list[Daemon]) -> None:
    d = Daemon(tmp_path, sqlite_env(tmp_path, PULSE_COLLECTORS='["host"]'))
    daemons.append(d)
    assert d.out[0].startswith("pulse collect: collectors host;")
    wait_for(lambda: (d.value("pulse_samples_ingested_total") or 0) > 0, what="samples ingested")
    sent = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    assert d.wait(timeout=20) == 0, d.stderr()
    assert time.monotonic() - sent < 10
    assert "flushed" in d.stdout()
    assert "Traceback" not in d.stderr()
    store = open_at(f"sqlite:///{tmp_path}/pulse.db")
    try:
        assert read_health(store)["host"]["state"] == "up"
        assert store.series_count() > 5
    finally:
        store.close()


# -- in process ------------------------------------------------------------------------------------


def test_run_daemon_in_process_until_the_stop_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path / "data", collectors=["host"]
    )
    stop = threading.Event()
    timer = threading.Timer(3.0, stop.set)
    timer.start()
    t0 = time.monotonic()
    started_ms = int(time.time() * 1000)
    try:
        assert run_daemon(settings, stop, metrics_port=0) == 0
    finally:
        timer.cancel()
    took = time.monotonic() - t0
    assert 3.0 <= took < 15, took
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("pulse collect: collectors host; metrics at http://127.0.0.1:")
    assert lines[-1] == "pulse collect: stopped; buffered samples flushed"

    store = open_at(settings.url)
    try:
        metrics = store.metrics()
        assert "host_up" in metrics and "host_memory_used_bytes" in metrics
        assert not any(m.startswith(("mcp_", "container_", "platform_")) for m in metrics)  # no demo
        assert set(read_health(store)) == {"host"}
        # the rollups cover what was written before the daemon stopped, so a query with a step of
        # a minute or more (answered from the 1 m rollups) sees it too, not only a raw query
        since = started_ms - 60_000
        raw_rows = store.select("host_up", since, store.now_ms(), step_ms=60_000, resolution="raw")
        rolled = store.select("host_up", since, store.now_ms(), step_ms=60_000)  # auto: 1 m rollups
        assert raw_rows.height >= 1
        assert rolled.height >= 1, "the 1 m rollups miss the samples of the last run"
    finally:
        store.close()
    # the /metrics port is released: nothing answers on it any more
    port = int(lines[0].rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_run_daemon_with_run_for_returns_on_its_own(tmp_path: Path) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path / "data", collectors=[]
    )
    t0 = time.monotonic()
    assert run_daemon(settings, threading.Event(), run_for_s=1.0, metrics_port=0) == 0
    assert 1.0 <= time.monotonic() - t0 < 10
    store = open_at(settings.url)
    try:
        assert read_health(store) == {}
        assert store.metrics() == ["pulse_buffered_samples"]  # the health job's own sample
    finally:
        store.close()


# -- the database goes away and comes back, across daemon restarts ------------------------------


def spooled(spool: Path) -> list[Key]:
    """(metric, labels, ts) of every sample in the spool files."""
    out = []
    for path in sorted(spool.glob("spool-*.jsonl")):
        lines = path.read_text().splitlines()
        assert json.loads(lines[0])["count"] == len(lines) - 1
        for line in lines[1:]:
            metric, labels, ts, _value = json.loads(line)
            out.append((metric, labels_of(**dict(labels)), ts))
    return out


@pytest.mark.postgres
def test_database_outage_spills_to_the_spool_and_the_next_start_writes_it(
    pg_schema_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    real = sa.make_url(pg_schema_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.start()
    via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = {
        "PULSE_DATABASE_URL": via_proxy,
        "PULSE_DATA_DIR": str(tmp_path / "data"),
        "PULSE_COLLECTORS": '["host"]',
        "PULSE_HOST__INTERVAL_S": "1",
    }
    spool = tmp_path / "data" / "spool"
    try:
        # 1. running normally
        first = Daemon(tmp_path, env)
        daemons.append(first)
        wait_for(lambda: (first.value("pulse_samples_ingested_total") or 0) > 0, what="samples ingested")

        # 2. the database goes away: samples are held in memory ...
        proxy.cut()
        down_ms = int(time.time() * 1000)
        wait_for(lambda: (first.value("pulse_buffered_samples") or 0) > 0, what="samples buffered")
        time.sleep(1.5)
        assert first.value("pulse_collector_up", collector="host") == 1  # collecting is not the problem
        # ... and spilled to the spool when the daemon stops while it is still down
        first.proc.send_signal(signal.SIGTERM)
        assert first.wait() == 0, first.stderr()
        up_to_ms = int(time.time() * 1000)
        assert "samples kept in" in first.stdout() and str(spool) in first.stdout(), first.stdout()
        assert "storage unavailable, buffering samples" in first.stderr()
        assert "Traceback" not in first.stderr()  # an outage is expected: a line, not a stack
        held = spooled(spool)
        assert held, "nothing was spilled"
        # the collector health of the outage is kept like any other sample
        assert {"pulse_collector_up", "pulse_buffered_samples"} <= {m for m, _, _ in held}
        outage = [k for k in held if k[0] == "host_up"]
        assert len(outage) >= 2 and all(down_ms - 1500 <= ts <= up_to_ms for _, _, ts in outage)

        # 3. the database is back; the next start writes what the spool holds
        proxy.start()
        second = Daemon(tmp_path, env, "--run-for", "3")
        daemons.append(second)
        assert second.wait() == 0, second.stderr()
        assert second.stdout().endswith("buffered samples flushed\n")
    finally:
        proxy.cut()

    assert list(spool.glob("spool-*")) == []  # written, then deleted; nothing set aside as .bad
    store = open_at(pg_schema_url)  # straight to the server, not through the proxy
    try:
        lo, hi = min(ts for *_, ts in held), max(ts for *_, ts in held) + 1
        in_db: dict[Key, float] = {}
        for metric in {m for m, _, _ in held}:
            in_db |= stored(store, metric, lo, hi)
        missing = set(held) - set(in_db)
        assert not missing, f"{len(missing)} of {len(held)} spooled samples are not in the database"
        assert all(in_db[k] == 1.0 for k in outage)
    finally:
        store.close()
