"""Issue 15 item 2: a PostgreSQL server that accepts and never answers (its whole cluster stopped
with SIGSTOP) never stops collection; SIGTERM ends the daemon within seconds, spooling what it
holds; a start against such a server fails fast with a clear message."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from core.cli.main import ROOT
from tests.conftest import ThrowawayCluster
from tests.core.runtime.test_daemon import Daemon, daemons, open_at, stored, wait_for  # noqa: F401
from tests.faults.helpers import cluster, freeze, spooled_keys, thaw  # noqa: F401

STOP_WITHIN_S = 5.0


def env_for(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PULSE_DATABASE_URL": url,
        "PULSE_DATA_DIR": str(tmp_path / "data"),
        "PULSE_COLLECTORS": '["host"]',
        "PULSE_HOST__INTERVAL_S": "1",
        "PULSE_DATABASE__CONNECT_TIMEOUT_S": "2",
        "PULSE_DATABASE__IO_TIMEOUT_S": "5",
    }


def test_collection_goes_on_and_sigterm_ends_it_quickly(
    cluster: tuple[ThrowawayCluster, str],  # noqa: F811
    tmp_path: Path,
    daemons: list[Daemon],  # noqa: F811
) -> None:
    c, url = cluster
    env = env_for(url, tmp_path)
    spool = tmp_path / "data" / "spool"
    d = Daemon(tmp_path, env)
    daemons.append(d)
    wait_for(lambda: (d.value("pulse_samples_ingested_total") or 0) > 0, what="samples ingested")

    pids = freeze(c)
    try:
        ticks_before = d.value("pulse_collector_duration_seconds_count", collector="host") or 0
        time.sleep(12)
        ticks = (d.value("pulse_collector_duration_seconds_count", collector="host") or 0) - ticks_before
        missed = d.value("pulse_job_missed_total", job="collector:host") or 0
        # a 1 s collector keeps ticking for the 12 s the database is frozen
        assert ticks >= 10 and missed == 0, (ticks, missed, d.stderr())
        assert d.value("pulse_collector_up", collector="host") == 1
        # /metrics answers and shows what PulseDatabaseUnavailable (pulse_buffered_samples > 0) needs
        assert (d.value("pulse_buffered_samples") or 0) > 0
        # held samples reach the spool while the database is frozen
        # held samples reach the spool while the database is frozen, also while the writer is
        # stuck in a database call: at most flush_after_s (2 s) + a tick (1 s) + slack behind
        lags = []
        for _ in range(6):
            now_ms = int(time.time() * 1000)
            held = spooled_keys(spool)
            newest = max((ts for m, _, ts in held if m == "host_up"), default=0)
            lags.append((now_ms - newest) / 1000)
            time.sleep(0.7)
        assert max(lags) <= 5.0, (lags, d.stderr())
        print(f"\nfrozen database: spool lag {min(lags):.1f}-{max(lags):.1f}s")

        sent = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        assert d.wait(timeout=30) == 0, d.stderr()
        took = time.monotonic() - sent
        assert took < STOP_WITHIN_S, f"SIGTERM took {took:.1f}s with a frozen database\n{d.stderr()}"
        print(f"\nfrozen database: {ticks:g} ticks in 12 s, 0 missed; SIGTERM exit in {took:.2f}s")
        assert "samples kept in" in d.stdout(), d.stdout()
        assert "Traceback" not in d.stderr()
        held = spooled_keys(spool)
    finally:
        thaw(pids)

    # the server answers again: the next start writes what was spooled, exactly once
    second = Daemon(tmp_path, env, "--run-for", "3")
    daemons.append(second)
    assert second.wait() == 0, second.stderr()
    assert list(spool.glob("spool-*")) == []
    store = open_at(url)
    try:
        lo, hi = min(ts for *_, ts in held), max(ts for *_, ts in held) + 1
        got: dict[tuple[object, ...], float] = {}
        for metric in {m for m, _, _ in held}:
            got |= stored(store, metric, lo, hi)
        assert not set(held) - set(got)
        assert len(held) == len(set(held))  # nothing spooled twice
    finally:
        store.close()


def test_a_start_against_a_frozen_server_fails_fast_and_says_why(
    cluster: tuple[ThrowawayCluster, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    c, url = cluster
    pids = freeze(c)
    try:
        t0 = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "core.cli", "collect", "--metrics-port", "0"],
            cwd=ROOT,
            env={**_clean_env(), **env_for(url, tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.monotonic() - t0
    finally:
        thaw(pids)
    assert done.returncode != 0
    assert took < 15, took
    assert "database unavailable" in done.stderr and "timeout" in done.stderr.lower(), done.stderr
    assert "Traceback" not in done.stderr
    print(f"\nstart against a frozen server: failed in {took:.1f}s: {done.stderr.strip().splitlines()[-1]}")


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
