"""CPU and memory of processes by /proc accounting (utime + stime in clock ticks, VmRSS).

``tree_cpu_s(pid)`` counts a process, its reaped children (cutime + cstime) and its live
descendants, so a probe that starts a short-lived child is charged to the process that started it.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) on; the name may hold spaces


def cpu_s(pid: int, reaped: bool = True) -> float:
    """utime + stime (+ cutime + cstime of reaped children) of ``pid`` in seconds."""
    f = _stat(pid)
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if reaped else 0)
    return ticks / TICK


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def tree_cpu_s(pid: int) -> float:
    total = cpu_s(pid)
    for child in children(pid):
        try:
            total += tree_cpu_s(child)
        except (OSError, ValueError):  # it ended meanwhile; its time moved to our cutime
            continue
    return total


def machine_busy_s() -> float:
    """CPU seconds all processes of the machine spent busy (every core: not idle, not iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK  # user..steal minus idle and iowait


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` alone (VmRSS), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_bytes(pid: int | str = "self") -> int:
    """Peak resident memory of ``pid`` since its exec (VmHWM), bytes. Unlike ``ru_maxrss`` of
    getrusage or wait4, it does not start at the RSS of the parent that forked it."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status (a kernel thread, or a process that has exited)")


@dataclass
class Windows:
    """Per-window CPU shares (CPU s per wall s) of each watched process, and a rate per window."""

    cpu: dict[str, list[float]]
    rate: list[float]


def measure(
    pids: dict[str, int], windows: int, seconds: float, counter: Callable[[], float] | None = None
) -> Windows:
    """``windows`` back-to-back windows of ``seconds``: each process's CPU share and, when a
    ``counter`` is given, its increase per second (the workload's throughput)."""
    out = Windows({name: [] for name in pids}, [])
    for _ in range(windows):
        c0 = {n: tree_cpu_s(p) for n, p in pids.items()}
        k0, t0 = (counter() if counter else 0.0), time.monotonic()
        time.sleep(seconds)
        c1 = {n: tree_cpu_s(p) for n, p in pids.items()}
        k1, t1 = (counter() if counter else 0.0), time.monotonic()
        for n in pids:
            out.cpu[n].append((c1[n] - c0[n]) / (t1 - t0))
        out.rate.append((k1 - k0) / (t1 - t0))
    return out


def spread(values: Sequence[float], scale: float = 1.0, fmt: str = "{:.2f}") -> str:
    """'median (min-max)' of ``values`` times ``scale``."""
    v = [x * scale for x in values]
    return f"{fmt.format(statistics.median(v))} ({fmt.format(min(v))}-{fmt.format(max(v))})"
