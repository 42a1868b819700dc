"""CPU cost of running Pulse: the `pulse collect` daemon with the default collectors, and the demo backfill."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.common import Row

WARMUP_S, MEASURE_S = 10.0, 60.0


def _env(folder: Path, name: str) -> dict[str, str]:
    db = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return {
        **os.environ,
        "PULSE_DATABASE_URL": f"sqlite:///{db}",
        "PULSE_DATA_DIR": str(folder / name),
        "PULSE_METRICS__PORT": "0",
    }


def daemon_cost(folder: Path) -> Row:
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "collect", "--run-for", str(WARMUP_S + MEASURE_S + 5)],
        env=_env(folder, "daemon"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    p = psutil.Process(proc.pid)
    time.sleep(WARMUP_S)
    c0, t0 = p.cpu_times(), time.monotonic()
    time.sleep(MEASURE_S)
    c1, t1 = p.cpu_times(), time.monotonic()
    proc.wait(timeout=60)
    share = ((c1.user + c1.system) - (c0.user + c0.system)) / (t1 - t0)
    return Row(
        f"`pulse collect` CPU, default collectors (host + demo), {MEASURE_S:.0f} s",
        f"{share:.4f} CPU s per s",
        f"{share:.2%} of one core, {share / (os.cpu_count() or 1):.2%} of the machine",
        "< 0.5% of a core",
        "ok" if share < 0.005 else "MISS",
    )


def demo_backfill(folder: Path) -> Row:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "core.cli", "demo", "--days", "7", "--quiet"],
        env=_env(folder, "demo"),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    took = time.perf_counter() - t0
    return Row(
        "`pulse demo --days 7` (first start of `pulse up`)",
        f"{took:.1f} s",
        "",
        "part of < 60 s to dashboard",
        "ok" if took < 45 else "MISS",
    )


def run(folder: Path) -> list[Row]:
    return [daemon_cost(folder), demo_backfill(folder)]
