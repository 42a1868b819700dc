"""Ingest rate of Store.write on SQLite vs raw ``sqlite3.executemany`` of the same rows."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bench.common import Row, demo_samples, fresh_store

BATCH = 5_000


def run(folder: Path) -> list[Row]:
    end = int(time.time() * 1000) // 15_000 * 15_000
    samples = demo_samples(end - 3_600_000, end, 15_000)  # an hour of the demo fleet at 15 s
    batches = [samples[i : i + BATCH] for i in range(0, len(samples), BATCH)]
    ids = {k: i for i, k in enumerate(dict.fromkeys((s.metric, s.labels) for s in samples))}
    rows = [[(ids[s.metric, s.labels], s.ts, s.value) for s in b] for b in batches]

    def pulse() -> float:
        store = fresh_store(folder, "ingest")
        store.write(batches[0][:1])  # schema and first series exist before timing, like the baseline table
        t0 = time.perf_counter()
        for b in batches:
            store.write(b)
        took = time.perf_counter() - t0
        store.close()
        return took

    def baseline() -> float:
        path = folder / "baseline.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        con = sqlite3.connect(path)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("CREATE TABLE t (series_id INTEGER, ts INTEGER, value REAL)")
        t0 = time.perf_counter()
        for r in rows:
            con.executemany("INSERT INTO t VALUES (?, ?, ?)", r)
            con.commit()
        took = time.perf_counter() - t0
        con.close()
        return took

    t_pulse, t_base = [], []
    for _ in range(3):  # interleaved, so both see the same machine load
        t_pulse.append(pulse())
        t_base.append(baseline())
    rate, base = len(samples) / min(t_pulse), len(samples) / min(t_base)
    ratio = rate / base
    return [
        Row(
            f"ingest, SQLite ({len(samples):,} demo samples, batches of {BATCH:,})",
            f"{rate:,.0f} samples/s",
            f"{ratio:.0%} of raw executemany ({base:,.0f} rows/s)",
            ">= 70%",
            "ok" if ratio >= 0.7 else "MISS",
        )
    ]
