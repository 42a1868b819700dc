"""Forecasts of 500 demo series: first call in a process, cold cache, warm cache (``python -m bench forecast``).

The series are 500 gauges of a 10-host demo fleet (hosts, containers, latency quantiles, teams), 14 days
at 1 h. "Cold" forecasts every series with a fresh forecaster: the backtest of every candidate on
the held-out span, then the chosen model fit on all the data (one run: minutes here). "Warm" is
the next hour (median of 3 successive hours): the data moved on by one step, the results cache
misses, the backtest verdict and the fitted model are reused and the model's parameters are run
forward over the new data. "Cached" asks again for the same data. The first-call row is a fresh Python
process importing statsforecast and running each model once (what :func:`warm_up` pays).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import Row

N_SERIES, DAYS, HOUR_MS, RUNS = 500, 14, 3_600_000, 3
START_MS = 2959 * 604_800_000  # a demo cycle boundary
TARGET_S = 5.0


def _series(shift: int = 0) -> list[object]:
    from collectors.demo.model import Model
    from collectors.demo.topology import build_topology
    from core.capacity import Regular
    from core.kernel.settings import DemoSettings

    model = Model(build_topology(DemoSettings(hosts=10)))  # 10 hosts: ~590 varying gauges
    start = START_MS + shift * HOUR_MS
    ts = np.arange(start, start + DAYS * 86_400_000, HOUR_MS, dtype=np.int64)
    values, _ = model.evaluate(ts // 1000)
    rows = [i for i, (m, _) in enumerate(model.keys) if not m.endswith("_total") and np.ptp(values[i]) > 0]
    return [Regular(f"s{i}", start, HOUR_MS, values[i]) for i in rows[:N_SERIES]]


def _first_call_s() -> float:
    code = (
        "import time; t=time.perf_counter(); from core.capacity import warm_up; warm_up(); "
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run(_: Path) -> list[Row]:
    from core.capacity import AutoForecaster, ForecastSettings, warm_up

    first = statistics.median(_first_call_s() for _ in range(RUNS))
    warm_up()
    base = _series()
    assert len(base) == N_SERIES, len(base)
    fc = AutoForecaster(ForecastSettings(horizon_s=14 * 86_400))
    t0, c0 = time.perf_counter(), time.process_time()
    results = [fc.forecast_series(s) for s in base]  # type: ignore[arg-type]
    cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0  # one run: minutes here
    warm, warm_cpu, cached = [], [], []
    for shift in range(1, RUNS + 1):  # each run is the next hour: new data, cached choice and model
        moved = _series(shift)
        t0, c0 = time.perf_counter(), time.process_time()
        [fc.forecast_series(s) for s in moved]  # type: ignore[arg-type]
        warm.append(time.perf_counter() - t0)
        warm_cpu.append(time.process_time() - c0)
        t0 = time.perf_counter()
        [fc.forecast_series(s) for s in moved]  # type: ignore[arg-type]
        cached.append(time.perf_counter() - t0)
    chosen: dict[str, int] = {}
    for r in results:
        chosen[str(r.model)] = chosen.get(str(r.model), 0) + 1
    mix = ", ".join(f"{k} {v}" for k, v in sorted(chosen.items(), key=lambda kv: -kv[1]))
    w = statistics.median(warm)
    return [
        Row("forecast: first call in a process (import + each model once)", f"{first:.1f} s", "median of 3"),
        Row(
            f"forecast {N_SERIES} series, {DAYS} d at 1 h, 14 d ahead, cold (backtest + fit)",
            f"{cold:.1f} s ({cold_cpu:.1f} CPU s)",
            f"models chosen: {mix}",
        ),
        Row(
            f"forecast {N_SERIES} series, warm (next hour: cached choice and fitted model run forward)",
            f"{w:.1f} s ({statistics.median(warm_cpu):.1f} CPU s)",
            f"{cold / w:.0f}x faster than cold; median of {RUNS}",
            f"< {TARGET_S:g} s",
            "ok" if w < TARGET_S else "MISSED",
        ),
        Row(
            f"forecast {N_SERIES} series, same data again (results cache)",
            f"{statistics.median(cached) * 1000:.0f} ms",
        ),
    ]
