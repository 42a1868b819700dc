"""One huge, slow target beside three small ones in a real ``pulse collect`` (issue 15 item 18).

Two runs of the daemon, each 1 s small-target interval: the baseline with the big target serving
a 2 KB body, then with it serving a ~30 MB body (~370,000 samples) over 8 s. Figures: the small
targets' request gaps as the servers saw them (median, p99, max; the interval is 1 s, so a gap of
2 s or more is a missed run), the daemon's peak RSS above its RSS at start, how long the big
scrape took and how long until all its samples reached the writer. ``python -m bench bigtarget``.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench.common import Row
from tests.bigtarget import MB, BigTarget, RssWatch, SmallTarget, body, write_config
from tests.daemons import Daemon, sqlite_env, wait_for

INTERVAL_S, SETTLE_S = 1.0, 3.0


def _run(folder: Path, data: bytes) -> dict[str, float]:
    samples = data.count(b"\n") - data.count(b"\n#")
    big = BigTarget(data, seconds=8 if len(data) > MB else 0)
    smalls = [SmallTarget(f"s{i}") for i in range(3)]
    cfg = write_config(folder, big.url, [s.url for s in smalls], INTERVAL_S, big_timeout_s=120)
    d = Daemon(folder, {**sqlite_env(folder), "PULSE_CONFIG": str(cfg)})
    watch = RssWatch(d.proc.pid)
    try:
        wait_for(lambda: big.served >= 1, timeout=120, what="the big body served")
        start_kib = min(watch.samples[:10] or [watch.peak_kib])
        sent_from, sent_to = big.sending[0]

        def arrived() -> float:
            m = d.scrape()
            return m.get(("pulse_samples_ingested_total", ()), 0) + m.get(("pulse_buffered_samples", ()), 0)

        wait_for(lambda: arrived() >= samples, timeout=300, what="the big body's samples")
        handed = time.monotonic() - sent_from
        time.sleep(max(SETTLE_S, 10 - handed))  # at least 10 s of small scrapes in the window
        watch.stop()
        gaps = sorted(g for s in smalls for g in s.gaps(since=sent_from))
        return {
            "median": statistics.median(gaps),
            "p99": gaps[min(len(gaps) - 1, round(0.99 * (len(gaps) - 1)))],
            "max": gaps[-1],
            "missed": sum(g >= 2 * INTERVAL_S for g in gaps),
            "growth_mb": (watch.peak_kib - start_kib) / 1024,
            "start_mb": start_kib / 1024,
            "send_s": sent_to - sent_from,
            "handed_s": handed,
            "samples": samples,
        }
    finally:
        watch.stop()
        d.kill()
        big.stop()
        for s in smalls:
            s.stop()


def run(tmp: Path) -> list[Row]:
    base = _run(tmp / "small-only", body(2048))
    big = _run(tmp / "big", body(30 * MB))

    def gaps(m: dict[str, float]) -> str:
        return f"gap median {m['median']:.2f} s, p99 {m['p99']:.2f} s, max {m['max']:.2f} s, {m['missed']:.0f} missed"

    return [
        Row(
            "small targets (1 s) beside a 30 MB target served over 8 s",
            gaps(big),
            f"alone: {gaps(base)}",
            "no missed run (gap < 2 s)",
            "ok" if big["missed"] == 0 else "MISSED",
        ),
        Row(
            f"daemon RSS while it takes the 30 MB body ({big['samples']:.0f} samples)",
            f"+{big['growth_mb']:.0f} MB over {big['start_mb']:.0f} MB at start",
            f"small body: +{base['growth_mb']:.0f} MB",
            "< +350 MB",
            "ok" if big["growth_mb"] < 350 else "HIGH",
        ),
        Row(
            "30 MB body: served in / all samples at the writer after",
            f"{big['send_s']:.1f} s / {big['handed_s']:.1f} s",
        ),
    ]
