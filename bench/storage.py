"""Bytes per stored sample on disk for regular 15 s gauges, once older data is compacted."""

from __future__ import annotations

import sqlite3
import time

from bench.common import DAY, Clock, Row, demo_samples, fresh_store


def _table_bytes(path: str) -> dict[str, int]:
    con = sqlite3.connect(path)
    con.execute("VACUUM")
    sizes = dict(con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    con.close()
    return sizes


def run(folder: object) -> list[Row]:
    from pathlib import Path

    folder = Path(str(folder))
    end = int(time.time() * 1000) // 15_000 * 15_000
    samples = demo_samples(end - DAY, end, 15_000, gauges_only=True)
    clock = Clock(end / 1000)
    store = fresh_store(folder, "bytes", clock=clock)
    for i in range(0, len(samples), 50_000):
        store.write(samples[i : i + 50_000])
    clock.now = end / 1000 + 2 * 86_400  # two days later: everything is older than the window
    store.compact()
    store.close()
    sizes = _table_bytes(str(folder / "bytes.db"))
    raw = sizes.get("chunks", 0) + sizes.get("head", 0)
    rollups = sizes.get("rollup_1m", 0) + sizes.get("rollup_1h", 0)
    per_sample = raw / len(samples)
    return [
        Row(
            f"bytes per sample, 15 s gauges ({len(samples):,} samples, 1 day, compacted)",
            f"{per_sample:.2f} B",
            f"{per_sample / 16:.0%} of a bare (ts, value) pair",
            "<= 4 B",
            "ok" if per_sample <= 4 else "MISS",
        ),
        Row("  rollups (1 m + 1 h) on top, per raw sample", f"{rollups / len(samples):.2f} B"),
    ]
