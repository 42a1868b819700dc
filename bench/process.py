"""Cost of one tick of the process collector: reading its PID cache vs walking the process table.

A few hundred ``sleep`` children make the table realistically long; 8 of them stand for MCP
servers in two groups. The same collector runs twice: once with its default cadence (the walk
every ``rescan_interval_s``, the cache in between), once forced to walk on every tick (what
Glances does). A settable monotonic clock chooses which ticks walk, so both are measured on the
same machine, in the same run.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil

from bench.common import Clock, Row
from collectors.process import ProcessCollector
from core.kernel.settings.sources import ProcessSource

FILLERS, SERVERS_PER_GROUP, TICKS = 300, 4, 60


def _source(rescan_s: float) -> ProcessSource:
    groups = [
        {"name": "mcp-a", "pattern": r"^sleep 7201$"},
        {"name": "mcp-b", "pattern": r"^sleep 7202$"},
        {"name": "mcp-none", "pattern": r"^no such server$"},
    ]
    return ProcessSource(name="bench", interval_s=15, rescan_interval_s=rescan_s, groups=groups)


def _ticks(rescan_s: float, advance_s: float) -> list[float]:
    """Seconds per tick over TICKS ticks after a first (walking) one."""
    mono = Clock(0.0)
    c = ProcessCollector(_source(rescan_s), monotonic=mono)
    c.collect()
    out = []
    for _ in range(TICKS):
        mono.now += advance_s
        t0 = time.perf_counter()
        samples = c.collect()
        out.append(time.perf_counter() - t0)
    up = {dict(s.labels)["group"]: s.value for s in samples if s.metric == "process_group_processes"}
    assert up == {"mcp-a": SERVERS_PER_GROUP, "mcp-b": SERVERS_PER_GROUP, "mcp-none": 0}, up
    return out


def _median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def run(folder: Path) -> list[Row]:
    children: list[subprocess.Popen[bytes]] = []
    try:
        children += [subprocess.Popen(["sleep", "7200"]) for _ in range(FILLERS)]
        for arg in ("7201", "7202"):
            children += [subprocess.Popen(["sleep", arg]) for _ in range(SERVERS_PER_GROUP)]
        n = len(psutil.pids())
        cached = _median(_ticks(rescan_s=86_400, advance_s=15))  # never walks after the first
        walking = _median(_ticks(rescan_s=1, advance_s=15))  # walks on every tick
    finally:
        for p in children:
            p.kill()
        for p in children:
            p.wait()
    ratio = walking / cached
    default = (walking + 3 * cached) / 4  # interval 15 s, rescan 60 s: one walk in four ticks
    return [
        Row(
            f"process collector tick, PID cache ({2 * SERVERS_PER_GROUP} matched of {n} processes)",
            f"{cached * 1000:.2f} ms",
            f"full walk every tick {walking * 1000:.1f} ms: {ratio:.0f}x the cost",
            ">= 10x cheaper than a walk",
            "ok" if ratio >= 10 else "MISS",
        ),
        Row(
            "process collector, defaults (walk every 60 s, tick every 15 s)",
            f"{default * 1000:.2f} ms per tick",
            f"{walking / default:.1f}x cheaper than walking every tick",
            "",
            "",
        ),
    ]
