"""``python -m bench rss [--quick]``: does the daemon's memory stay flat once warmed up?

``pulse collect`` with the default collectors and intervals (the demo platform included) on a
fresh SQLite store, its RSS (VmRSS) read every 30 s for 60 minutes (``--quick``: every 10 s for 6
minutes). The first 15 minutes (``--quick``: 2) are the warm-up: the chunk and head caches fill
to their bounds, the rollups and compaction run for the first time, the allocator's arenas reach
their working size. After that the growth is the least-squares slope of RSS over time, in MiB
per hour, against issue 16's target of at most 5 MiB/h.
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


def _plan() -> tuple[float, float, float]:
    """(minutes in all, minutes of warm-up, seconds between readings)."""
    return (6.0, 2.0, 10.0) if common.QUICK else (60.0, 15.0, 30.0)


def readings(pid: int, minutes: float, every_s: float) -> list[tuple[float, float]]:
    """(seconds since start, RSS in MiB) of ``pid`` every ``every_s`` for ``minutes``."""
    out: list[tuple[float, float]] = []
    t0 = time.monotonic()
    while (t := time.monotonic() - t0) <= minutes * 60:
        out.append((t, rss_mb(pid)))
        time.sleep(every_s)
    return out


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) in MiB per hour."""
    xs, ys = [t for t, _ in points], [m for _, m in points]
    return statistics.linear_regression(xs, ys).slope * 3600


def _caches(scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[str, float]:
    """MiB in each of the store's read caches (``pulse_cache_bytes``), part of the RSS."""
    return {
        dict(labels)["cache"]: v / 2**20
        for (name, labels), v in scraped.items()
        if name == "pulse_cache_bytes"
    }


def run(folder: Path) -> list[Row]:
    minutes, warmup, every = _plan()
    env = stack.pulse_env(folder, "rss")
    daemon = stack.start_daemon(env, folder / "rss")
    try:
        points = readings(daemon.pid, minutes, every)
        scraped = stack.scrape(env["PULSE_METRICS__PORT"])
    finally:
        stack.stop(daemon)
    after = [(t, m) for t, m in points if t >= warmup * 60]
    slope = slope_per_hour(after)
    start, warm, end = points[0][1], after[0][1], points[-1][1]
    print(f"[rss: {len(points)} readings, {start:.0f} -> {warm:.0f} -> {end:.0f} MiB]", file=sys.stderr)
    return [
        Row(
            "rss: `pulse collect` (defaults) RSS",
            f"{start:.0f} MiB at start, {warm:.0f} after {warmup:g} min, {end:.0f} after {minutes:g} min",
            "read caches at the end: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in _caches(scraped).items()),
        ),
        Row(
            f"rss: growth after the {warmup:g}-minute warm-up",
            f"{slope:+.1f} MiB/h",
            f"{len(after)} readings, every {every:g} s, least squares",
            f"<= {TARGET_MIB_PER_H:g} MiB/h",
            "ok" if slope <= TARGET_MIB_PER_H else "MISS",
        ),
    ]
