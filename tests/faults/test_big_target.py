"""Issue 15 item 18: one huge, slow scrape target does not stall the daemon. A real ``pulse
collect`` scrapes a ~30 MB body served over several seconds beside three small targets every
second: the small targets keep their schedule (read from the servers' side), the daemon's memory
stays bounded while it parses and writes, the big body's samples all reach the writer, and the
small targets' samples reach the store while the big body's are written, not after them.
Timing figures: ``python -m bench bigtarget``."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from tests.bigtarget import MB, BigTarget, RssWatch, SmallTarget, body, write_config
from tests.daemons import Daemon, open_at, sqlite_env, stored, wait_for

INTERVAL_S = 1.0  # the small targets' interval
# the daemon's RSS above its own at start while it takes the body: the body's samples are never all
# held (staged in files of 50,000); the store's series cache grows with the 370,000 new series.
# Before the staging this was +570 MB; measured now +210 MB
GROWTH_BOUND_MB = 350
# the big body's 370,000 samples are written one staged file of 50,000 at a time (4-7 s each here)
# with the others' samples between the files: the small targets' data is refreshed after each file
# (their newest stored sample at most 6-7 s old in runs alone; 25 s once in a full fault-suite run
# at load ~3.7, cause not pinned down). Before, it aged until the whole body was in (24-42 s)
REFRESHED_AT_LEAST = 3
FRESH_S = 5.0  # or: the small targets' newest stored sample never older than five of their intervals


def test_a_huge_slow_target_does_not_delay_the_small_ones_or_hold_its_body(tmp_path: Path) -> None:
    data = body(30 * MB)
    samples = data.count(b"\n") - data.count(b"\n#")  # sample lines (every line ends with \n)
    big = BigTarget(data, seconds=8)
    smalls = [SmallTarget(f"s{i}") for i in range(3)]
    cfg = write_config(tmp_path, big.url, [s.url for s in smalls], INTERVAL_S, big_timeout_s=120)
    d = Daemon(tmp_path, {**sqlite_env(tmp_path), "PULSE_CONFIG": str(cfg)})
    watch = RssWatch(d.proc.pid)
    try:
        wait_for(lambda: len(watch.samples) >= 3, what="the daemon's RSS at start")
        start_kib = min(watch.samples[:10])
        wait_for(lambda: big.served >= 1, timeout=120, what="the big body served once")
        sent_from, sent_to = big.sending[0]

        def arrived() -> float:
            m = d.scrape()
            return m.get(("pulse_samples_ingested_total", ()), 0) + m.get(("pulse_buffered_samples", ()), 0)

        # every sample of the body handed to the writer (stored, or staged files it drains)
        wait_for(lambda: arrived() >= samples, timeout=120, what=f"{samples} samples of the big body")
        time.sleep(3 * INTERVAL_S)  # a few small scrapes after the big one was handed over
        handed_kib = watch.peak_kib  # parsed and staged; the writer is still writing its series
        lags = small_lags_while_draining(d, tmp_path)
        # the small targets' newest stored sample moves on while the body's files are written
        # (before, it aged until the whole body was in, 24-42 s, with no refresh until the end):
        # it stays fresh all along, or it is seen refreshed several times. Counting drops alone
        # failed runs whose lags never passed 2.3 s (refreshed every second or so)
        refreshed = sum(b < a - 0.5 for a, b in zip(lags, lags[1:], strict=False))
        assert max(lags, default=0) <= FRESH_S or refreshed >= REFRESHED_AT_LEAST, str(lags)
        watch.stop()
        for s in smalls:
            gaps = s.gaps(since=sent_from)
            assert len(gaps) >= (sent_to - sent_from) / INTERVAL_S - 1, gaps
            # no scheduled run skipped: each request within two intervals of the one before
            assert max(gaps) < 2 * INTERVAL_S, sorted(gaps)[-5:]
            assert abs(statistics.median(gaps) - INTERVAL_S) < INTERVAL_S / 4, gaps
        growth_mb = (handed_kib - start_kib) / 1024
        assert growth_mb < GROWTH_BOUND_MB, f"RSS grew {growth_mb:.0f} MB (from {start_kib / 1024:.0f} MB)"
        print(
            f"\nbig target: RSS {start_kib / 1024:.0f} MB at start, +{growth_mb:.0f} MB when handed over, "
            f"peak {watch.peak_kib / 1024:.0f} MB once written; small targets' data at most "
            f"{max(lags):.1f} s old while it was written"
        )
        m = d.scrape()
        assert m[("pulse_collector_up", (("collector", "big"),))] == 1
        assert all(m[("pulse_collector_up", (("collector", f"small{i}"),))] == 1 for i in range(3))
        assert m.get(("pulse_job_missed_total", (("job", "health"),)), 0) == 0
        assert m.get(("pulse_job_missed_total", (("job", "flush"),)), 0) == 0
    finally:
        watch.stop()
        d.kill()
        big.stop()
        for s in smalls:
            s.stop()


def small_lags_while_draining(d: Daemon, folder: Path) -> list[float]:
    """Seconds between now and the small targets' newest stored sample, every second, until the
    writer holds nothing (the big body's samples are all written)."""
    store = open_at(f"sqlite:///{folder}/pulse.db")
    lags = []
    try:
        deadline = time.monotonic() + 180
        while (d.value("pulse_buffered_samples") or 0) > 0 and time.monotonic() < deadline:
            now = int(time.time() * 1000)
            newest = max(
                (ts for *_, ts in stored(store, "small_target_up", now - 600_000, now + 1)), default=0
            )
            lags.append(round((now - newest) / 1000, 1))
            time.sleep(1)
    finally:
        store.close()
    return lags
