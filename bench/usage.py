"""The Usage view and the snapshots on the default demo fleet (``python -m bench usage``).

7 days of the demo (6 hosts x 6 servers, 4 teams) every 5 minutes, rolled up and compacted; then
:func:`core.usage.usage_report` over the last 24 h and 7 days up to now, as the page asks (its
ranges end at the current minute, not at a whole hour: median of 5 warm runs, wall clock and this
process's CPU time, which other processes on a shared machine do not inflate) and :func:`core.runtime.snapshots.take` (usage, the fleet's capacity forecast, open
recommendations), cold (first forecast in the process) and warm. Baseline: one bulk 1 h read of
``container_cpu_usage_cores`` over the same range.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench.common import DAY, Row, fresh_store, median_of
from collectors.demo import DemoCollector
from core.kernel.settings import DemoSettings, load_settings
from core.optimization.settings import PriceSettings
from core.runtime.snapshots import take
from core.usage import usage_report

DAYS, STEP_MS, RUNS = 7, 300_000, 5


def run(folder: Path) -> list[Row]:
    end = int(time.time() * 1000) // 3_600_000 * 3_600_000
    store = fresh_store(folder, "usage")
    t0 = time.perf_counter()
    demo = DemoCollector(DemoSettings(), clock=lambda: end / 1000)
    for batch in demo.backfill(end - DAYS * DAY, end, STEP_MS):
        store.write(batch)
    store.run_rollups()
    store.compact()
    setup = time.perf_counter() - t0
    rows = []
    now = store.now_ms() // 60_000 * 60_000  # the page's "last 7 days": up to the current minute
    for label, span in (("24 h", DAY), ("7 days", DAYS * DAY)):
        cpu: list[float] = []

        def report(span: int = span, cpu: list[float] = cpu) -> float:
            t, c = time.perf_counter(), time.process_time()
            usage_report(store, now - span, now, PriceSettings())
            cpu.append(time.process_time() - c)
            return time.perf_counter() - t

        def floor(span: int = span) -> float:
            t = time.perf_counter()
            store.select("container_cpu_usage_cores", now - span, now, step_ms=3_600_000)
            return time.perf_counter() - t

        report()  # warm the store's pages
        cpu.clear()
        took, base = median_of(RUNS, report), median_of(RUNS, floor)
        rows.append(
            Row(
                f"usage report, {len(demo.topology.servers)} servers, {label} (median of {RUNS}; history written in {setup:.0f} s)",
                f"{took * 1000:.0f} ms (CPU {statistics.median(cpu) * 1000:.0f} ms)",
                f"{took / base:.1f}x one bulk 1 h read of one metric ({base * 1000:.0f} ms)",
                "< 1 s",
                "ok" if took < 1 else "SLOW",
            )
        )
    settings = load_settings(database_url=store.settings.url, snapshots={"folder": str(folder / "snaps")})
    for kind in ("cold", "warm"):
        t = time.perf_counter()
        taken = take(store, settings, end)
        took = time.perf_counter() - t
        rows.append(Row(f"snapshot now ({kind}): {len(taken.written)} files", f"{took:.1f} s", "", "", ""))
    store.close()
    return rows
