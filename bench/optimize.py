"""Right-sizing 1,000 containers from 14 days of usage on SQLite (``python -m bench optimize``).

The history is the demo fleet at 50 hosts x 20 servers, container metrics only, hourly (the reads
are of 1 h rollups whatever the sample spacing), rolled up and compacted; then :func:`core.optimization.rightsizing.rightsize` runs on it (one store query per
metric for every container at once). Baseline: one bulk 1 h read of one metric, the floor of any
read of the same history.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bench.common import DAY, Row, fresh_store, median_of
from collectors.demo import DemoCollector
from core.kernel.samples import Sample
from core.kernel.settings import DemoSettings
from core.optimization.rightsizing import rightsize
from core.optimization.settings import UsageSettings
from core.optimization.usage import COUNTERS, CPU, MEMORY, SPEC

HOSTS, PER_HOST, DAYS, STEP_S, RUNS = 50, 20, 14, 3600, 5
METRICS = {CPU, MEMORY, *SPEC.values(), *COUNTERS.values()}


def _write_history(store_end_s: int, folder: Path) -> tuple[object, int]:
    demo = DemoCollector(DemoSettings(hosts=HOSTS, servers_per_host=PER_HOST))
    rows = [i for i, (m, _) in enumerate(demo._model.keys) if m in METRICS]
    keys = [demo._model.keys[i] for i in rows]
    clock = lambda: float(store_end_s)  # noqa: E731
    store = fresh_store(folder, "optimize", clock=clock)
    t_all = np.arange(store_end_s - DAYS * 86_400, store_end_s, STEP_S, dtype=np.int64)
    for lo in range(0, t_all.size, 48):
        t = t_all[lo : lo + 48]
        values, present = demo._model.evaluate(t)
        values, present = values[rows], present[rows]
        batch = [
            Sample(m, lb, int(ts) * 1000, float(values[k, j]))
            for j, ts in enumerate(t.tolist())
            for k, (m, lb) in enumerate(keys)
            if present[k, j]
        ]
        store.write(batch)
    store.run_rollups()
    store.compact()  # once, at the end: raw chunks and packed rollup rows, the steady state
    return store, len(demo.topology.servers)


def run(folder: Path) -> list[Row]:
    end_s = int(time.time()) // 3600 * 3600
    t0 = time.perf_counter()
    store, n = _write_history(end_s, folder)
    setup = time.perf_counter() - t0
    end_ms = end_s * 1000
    settings = UsageSettings(window_days=DAYS)
    found: list[int] = []

    def recommend() -> float:
        t = time.perf_counter()
        recs = rightsize(store, end_ms, usage_settings=settings)  # type: ignore[arg-type]
        took = time.perf_counter() - t
        found.append(sum(r.defined for r in recs))
        assert len(recs) == n, (len(recs), n)
        return took

    def floor() -> float:
        t = time.perf_counter()
        store.select(CPU, end_ms - DAYS * DAY, end_ms, step_ms=3_600_000)  # type: ignore[attr-defined]
        return time.perf_counter() - t

    took, base = median_of(RUNS, recommend), median_of(RUNS, floor)
    return [
        Row(
            f"right-sizing {n:,} containers, {DAYS} days on SQLite (median of {RUNS}; history written in {setup:.0f} s)",
            f"{took * 1000:.0f} ms",
            f"{took / base:.1f}x one bulk 1 h read of one metric ({base * 1000:.0f} ms); {found[-1]:,} defined",
            "< 2 s",
            "ok" if took < 2 else "SLOW",
        )
    ]
