"""Issue 15 item 1: ``kill -9`` during a PostgreSQL outage loses at most the last few seconds.

While the store is unavailable, held samples reach the spool (fsynced) every ``spool.flush_after_s``
seconds; the next start writes them exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.daemons import Daemon, open_at, proxied, stored, wait_for
from tests.daemons import spooled as spooled_keys

OUTAGE_S = 10
LOSS_BOUND_S = 4.0  # flush_after_s (2 s) + one tick + the retry attempt in progress


@pytest.mark.postgres
def test_kill_9_during_an_outage_loses_at_most_the_last_seconds(
    pg_schema_url: str,
    tmp_path: Path,
    daemons: list[Daemon],
) -> None:
    proxy, via_proxy = proxied(pg_schema_url)
    env = {
        "PULSE_DATABASE_URL": via_proxy,
        "PULSE_DATA_DIR": str(tmp_path / "data"),
        "PULSE_COLLECTORS": '["host"]',
        "PULSE_HOST__INTERVAL_S": "1",
        "PULSE_SPOOL__FLUSH_AFTER_S": "2",
    }
    spool = tmp_path / "data" / "spool"
    try:
        first = Daemon(tmp_path, env)
        daemons.append(first)
        wait_for(lambda: (first.value("pulse_samples_ingested_total") or 0) > 0, what="samples ingested")
        start_ms = int(time.time() * 1000)
        time.sleep(2)
        proxy.cut()
        time.sleep(OUTAGE_S)
        first.proc.kill()  # kill -9: no shutdown, no final spill
        killed_ms = int(time.time() * 1000)
        first.proc.wait(10)
        held = spooled_keys(spool)
        assert len(held) == len(set(held)), "a sample was spooled twice"

        proxy.start()
        second = Daemon(tmp_path, env, "--run-for", "3")
        daemons.append(second)
        assert second.wait() == 0, second.stderr()
    finally:
        proxy.cut()
    assert list(spool.glob("spool-*")) == []  # replayed and deleted

    store = open_at(pg_schema_url)
    try:
        up = sorted(ts for (_, _, ts) in stored(store, "host_up", start_ms, killed_ms))
        replayed = {k for k in held}
        in_db = set()
        for metric in {m for m, _, _ in held}:
            in_db |= set(stored(store, metric, min(t for *_, t in held), max(t for *_, t in held) + 1))
    finally:
        store.close()
    assert replayed <= in_db, f"{len(replayed - in_db)} spooled samples not written at the next start"
    gaps = [b - a for a, b in zip(up, up[1:], strict=False)]
    assert up and max(gaps) <= 2000, f"a hole in the samples of the outage: {max(gaps)} ms"
    lost_s = (killed_ms - up[-1]) / 1000
    assert lost_s <= LOSS_BOUND_S, f"the last {lost_s:.1f}s before kill -9 were lost (bound {LOSS_BOUND_S}s)"
    print(f"\nkill -9 after {OUTAGE_S}s of outage: {len(up)} host_up samples kept, last {lost_s:.1f}s lost")
