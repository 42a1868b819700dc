"""``pulse collect`` end to end: a real daemon process with real collectors, /metrics scraped over
HTTP, the store and the collector health read back, SIGTERM, and a database outage across restarts."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from core.kernel.samples import labels_of
from core.kernel.settings import load_settings
from core.runtime.daemon import run_daemon
from core.storage.repos.health_report import read_report as read_health
from tests.daemons import Daemon, Key, open_at, proxied, spooled, sqlite_env, stored, wait_for

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
    # the host collector's first run (the daemon's own figures may be ingested before it)
    wait_for(lambda: d.value("pulse_collector_up", collector="host") == 1, what="the host collected")
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
        names = store.metrics()  # the health job's own sample and the self job's figures, only
        assert {"pulse_buffered_samples", "pulse_process_cpu_seconds_total", "pulse_db_size_bytes"} <= set(
            names
        )
        assert all(n.startswith("pulse_") for n in names), names
    finally:
        store.close()


# -- the database goes away and comes back, across daemon restarts ------------------------------


@pytest.mark.postgres
def test_database_outage_spills_to_the_spool_and_the_next_start_writes_it(
    pg_schema_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    proxy, via_proxy = proxied(pg_schema_url)
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
