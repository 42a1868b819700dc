"""Issue 15 item 2: a PostgreSQL server that accepts and never answers (its whole cluster stopped
with SIGSTOP) never stops collection; SIGTERM ends the daemon within seconds, spooling what it
holds; a start against such a server fails fast with a clear message."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from core.cli.main import ROOT
from tests.conftest import ThrowawayCluster
from tests.daemons import Daemon, open_at, stored, wait_for
from tests.daemons import spooled as spooled_keys
from tests.faults.helpers import cluster, freeze, thaw  # noqa: F401

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
    daemons: list[Daemon],
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


def _failed_start(url: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """``pulse collect`` against ``url``, which must fail; the result and the seconds it took."""
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "collect", "--metrics-port", "0"],
        cwd=ROOT,
        env={**_clean_env(), **env_for(url, tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0, done.stderr
    return done, time.monotonic() - t0


def test_a_start_against_a_frozen_server_fails_fast_and_says_why(
    cluster: tuple[ThrowawayCluster, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    c, url = cluster
    # the same start against a port that refuses at once: Python's start-up and imports, measured
    # now (seconds on a loaded machine), which the frozen server must not lengthen by more than
    # one connect timeout (the daemon's own deadline, database.connect_timeout_s)
    refused_url = sa.make_url(url).set(port=1).render_as_string(hide_password=False)
    refused, startup = _failed_start(refused_url, tmp_path)
    assert "database unavailable" in refused.stderr, refused.stderr
    pids = freeze(c)
    try:
        done, took = _failed_start(url, tmp_path)
    finally:
        thaw(pids)
    connect_timeout_s = float(env_for(url, tmp_path)["PULSE_DATABASE__CONNECT_TIMEOUT_S"])
    bound = startup * 1.5 + connect_timeout_s + 1  # 50% for the load changing between the two runs
    assert took < bound, f"{took:.1f}s against a frozen server; a refused start took {startup:.1f}s"
    assert "database unavailable" in done.stderr and "timeout" in done.stderr.lower(), done.stderr
    assert "Traceback" not in done.stderr
    print(
        f"\nstart against a frozen server: failed in {took:.1f}s (refused: {startup:.1f}s, bound {bound:.1f}s): "
        f"{done.stderr.strip().splitlines()[-1]}"
    )


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
