"""``python -m bench rss [--quick]``: does the daemon's memory stay flat once warmed up?

``pulse collect`` with the default collectors and intervals (the demo platform included) on a
fresh SQLite store, its RSS (VmRSS) and its read caches (``pulse_cache_bytes`` on its /metrics)
read every 30 s for 60 minutes (``--quick``: every 10 s for 6 minutes; ``--minutes N`` for
longer). The first 15 minutes (``--quick``: 2; ``--warmup N``) are the warm-up: rollups and compaction run for the first time, the allocator's
arenas reach their working size. After it, two least-squares slopes in MiB per hour: of RSS, and
of RSS less the caches. The caches are bounded (chunks 64 MB, head blocks 32 MB by default,
SQLite's page caches 2 MB per connection) but fill over hours, as the head grows and compaction turns it into chunks: the head cache alone grew
~20 MB/h here in the first hour. Issue 16's target, at most 5 MiB/h, is judged on the second.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from bench import common, stack
from bench.common import Row
from bench.procstat import rss_mb

TARGET_MIB_PER_H = 5.0
Reading = tuple[float, float, float]  # seconds since start, RSS MiB, caches MiB


MINUTES: int | None = None  # --minutes N: run this long instead
WARMUP: int | None = None  # --warmup N: minutes of warm-up instead


def plan() -> tuple[float, float, float]:
    """(minutes in all, minutes of warm-up, seconds between readings)."""
    minutes, warmup, every = (6.0, 2.0, 10.0) if common.QUICK else (60.0, 15.0, 30.0)
    minutes = float(MINUTES or minutes)
    warmup = float(WARMUP or min(warmup, minutes / 2))
    if warmup >= minutes:
        raise ValueError(f"--warmup ({warmup:g} min) must be shorter than the run ({minutes:g} min)")
    return minutes, warmup, every


def cache_mib(port: str | int) -> float:
    """MiB in the store's read caches of the daemon serving /metrics on ``port``."""
    scraped = stack.scrape(port)
    return sum(v for (name, _), v in scraped.items() if name == "pulse_cache_bytes") / 2**20


def readings(pid: int, minutes: float, every_s: float, port: str | int | None = None) -> list[Reading]:
    """(seconds since start, RSS, caches) of ``pid`` every ``every_s`` for ``minutes``; the caches
    are 0 when no metrics ``port`` is given."""
    out: list[Reading] = []
    t0 = time.monotonic()
    while (t := time.monotonic() - t0) <= minutes * 60:
        out.append((t, rss_mb(pid), cache_mib(port) if port is not None else 0.0))
        time.sleep(every_s)
    return out


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) in MiB per hour."""
    xs, ys = [t for t, _ in points], [m for _, m in points]
    return statistics.linear_regression(xs, ys).slope * 3600


def run(folder: Path) -> list[Row]:
    minutes, warmup, every = plan()
    env = stack.pulse_env(folder, "rss")
    daemon = stack.start_daemon(env, folder / "rss")
    try:
        points = readings(daemon.pid, minutes, every, env["PULSE_METRICS__PORT"])
    finally:
        stack.stop(daemon)
    after = [p for p in points if p[0] >= warmup * 60]
    rss = slope_per_hour([(t, r) for t, r, _ in after])
    rest = slope_per_hour([(t, r - c) for t, r, c in after])
    (_, start, _), (_, warm, warm_c), (_, end, end_c) = points[0], after[0], points[-1]
    print(f"[rss: {len(points)} readings, {start:.0f} -> {warm:.0f} -> {end:.0f} MiB]", file=sys.stderr)
    return [
        Row(
            "rss: `pulse collect` (defaults) RSS",
            f"{start:.0f} MiB at start, {warm:.0f} after {warmup:g} min, {end:.0f} after {minutes:g} min",
            f"read caches {warm_c:.0f} MiB after {warmup:g} min, {end_c:.0f} MiB at the end",
        ),
        Row(
            f"rss: RSS growth after the {warmup:g}-minute warm-up",
            f"{rss:+.1f} MiB/h",
            f"{len(after)} readings, every {every:g} s, least squares; the caches fill too",
        ),
        Row(
            "rss: growth of RSS less the read caches",
            f"{rest:+.1f} MiB/h",
            f"caches: {slope_per_hour([(t, c) for t, _, c in after]):+.1f} MiB/h (bounded: 64 + 32 MB + SQLite's)",
            f"<= {TARGET_MIB_PER_H:g} MiB/h",
            "ok" if rest <= TARGET_MIB_PER_H else "MISS",
        ),
    ]
