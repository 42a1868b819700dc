"""Latency of a 30-day dashboard query over 100 series (1 h resolution)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bench.common import DAY, Row, median_of
from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.storage.tsdb import open_store

SERIES, STEP = 100, 300_000


def run(folder: Path) -> list[Row]:
    end = int(time.time() * 1000) // STEP * STEP
    start = end - 30 * DAY
    path = folder / "query.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = open_store(load_settings(database_url=f"sqlite:///{path}"))
    labels = [labels_of(host=f"host-{i // 10:02d}", server=f"srv-{i:03d}") for i in range(SERIES)]
    for t0 in range(start, end, DAY):
        store.write(
            [
                Sample("bench_cpu_ratio", labels[i], ts, round(0.3 + 0.2 * ((ts // STEP + i) % 17) / 17, 4))
                for ts in range(t0, min(t0 + DAY, end), STEP)
                for i in range(SERIES)
            ]
        )
    store.run_rollups()

    def query() -> float:
        t0 = time.perf_counter()
        df = store.select("bench_cpu_ratio", start, end, step_ms=3_600_000)
        took = time.perf_counter() - t0
        assert df.height >= SERIES * 700, df.height
        return took

    def baseline() -> float:
        con = sqlite3.connect(path)
        t0 = time.perf_counter()
        con.execute(
            "SELECT series_id, ts, sum, count FROM rollup_1h WHERE ts >= ? AND ts < ?", (start, end)
        ).fetchall()
        took = time.perf_counter() - t0
        con.close()
        return took

    query()
    rows_only, base = median_of(7, query), median_of(7, baseline)
    store.compact()  # the steady state: rollup rows older than the current week packed into chunks
    query()
    took = median_of(7, query)
    store.close()
    return [
        Row(
            f"30-day query, {SERIES} series at 1 h, steady state (median of 7)",
            f"{took * 1000:.0f} ms",
            f"{took / base:.1f}x a bare SQL fetch of the same rollup rows ({base * 1000:.0f} ms)",
            "< 150 ms",
            "ok" if took < 0.150 else "MISS",
        ),
        Row(
            "  the same before any rollup row is packed",
            f"{rows_only * 1000:.0f} ms",
            f"{rows_only / base:.1f}x",
        ),
    ]
