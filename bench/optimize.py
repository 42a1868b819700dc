"""Right-sizing 1,000 containers from 14 days of usage on SQLite (``python -m bench optimize``).

The history is the demo fleet at 50 hosts x 20 servers, container metrics only, hourly (the reads
are of 1 h rollups whatever the sample spacing), rolled up and compacted; then
:func:`core.optimization.rightsizing.rightsize` runs on it (one store read per metric for every
container at once). Baseline: one bulk 1 h read of one metric, the floor of any read of the same
history. ``--quick``: 200 containers (10 hosts x 20) over 5 days, written in well under a minute
(5 days: the strategies need 100 hourly samples before they recommend), the same figures.

The written store is kept in the temp dir (``pulse-bench-cache/``) under a key of the fleet's
shape, the fixed end time and the source of the demo model and the store's write path, so a second run skips
the ~5 minutes of writing; the row says whether the history was written or reused. The bench
only reads the cached store. The row also gives a digest of the recommendations, so runs before
and after a change of the read can be compared value for value.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import common
from bench.common import DAY, Row, fresh_store, median_of
from collectors.demo import DemoCollector
from core.kernel.samples import Sample
from core.kernel.settings import DemoSettings, load_settings
from core.optimization.rightsizing import rightsize, to_frame
from core.optimization.settings import UsageSettings
from core.optimization.usage import COUNTERS, CPU, MEMORY, SPEC
from core.storage.tsdb import Store, open_store

STEP_S, RUNS = 3600, 5
END_S = 1_796_083_200  # 2026-12-01 00:00 UTC: fixed, so the cached history stays valid
METRICS = {CPU, MEMORY, *SPEC.values(), *COUNTERS.values()}
ROOT = Path(__file__).resolve().parent.parent
# what the written history depends on (the demo model, the write path, the schema; with the source
# of _write_history), in the cache key; the read path (query.py, read.py, ...) is left out, so a
# change of a read reuses the history
SOURCES = (
    "collectors/demo",
    "core/kernel",
    "core/storage/migrations",
    "core/storage/schema.py",
    *(f"core/storage/tsdb/{m}.py" for m in ("ingest", "block", "chunks", "compaction", "rollup_chunks")),
    *(f"core/storage/tsdb/{m}.py" for m in ("rollup", "series")),
)
CACHE = Path(tempfile.gettempdir()) / "pulse-bench-cache"


@dataclass(frozen=True)
class Shape:
    hosts: int
    per_host: int
    days: int
    label: str


FULL = Shape(50, 20, 14, "")
QUICK = Shape(10, 20, 5, "quick: ")


def _write_history(shape: Shape, path: Path) -> None:
    demo = DemoCollector(DemoSettings(hosts=shape.hosts, servers_per_host=shape.per_host))
    rows = [i for i, (m, _) in enumerate(demo._model.keys) if m in METRICS]
    keys = [demo._model.keys[i] for i in rows]
    store = fresh_store(path.parent, path.stem, clock=lambda: float(END_S))
    t_all = np.arange(END_S - shape.days * 86_400, END_S, STEP_S, dtype=np.int64)
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
    with store.engine.connect() as conn:  # everything in the main file: it is moved alone
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def cache_key(shape: Shape) -> str:
    h = hashlib.sha256(repr((shape.hosts, shape.per_host, shape.days, STEP_S, END_S)).encode())
    h.update(inspect.getsource(_write_history).encode())
    for top in SOURCES:
        base = ROOT / top
        for p in sorted(base.rglob("*.py")) if base.is_dir() else [base]:
            h.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def history(shape: Shape, folder: Path) -> tuple[Store, str]:
    """The store of ``shape`` from the cache (written there first if missing), and how it came."""
    path = CACHE / f"optimize-{shape.hosts * shape.per_host}x{shape.days}d-{cache_key(shape)}.db"
    how = "reused from the cache"
    if not path.exists():
        t0 = time.perf_counter()
        work = Path(tempfile.mkdtemp(prefix="optimize-", dir=folder))
        _write_history(shape, work / "history.db")
        CACHE.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        shutil.move(work / "history.db", tmp)
        os.replace(tmp, path)  # whole files only, even with two benches at once
        how = f"written in {time.perf_counter() - t0:.0f} s, cached"
    settings = load_settings(database_url=f"sqlite:///{path}")
    return open_store(settings, clock=lambda: float(END_S)), how


def digest(recs: list[object]) -> str:
    """A short hash of the recommendations' rows (every column), to compare runs value for value."""
    frame = to_frame(recs)  # type: ignore[arg-type]
    return hashlib.sha256(frame.write_csv().encode()).hexdigest()[:12]


def run(folder: Path) -> list[Row]:
    shape = QUICK if common.QUICK else FULL
    store, how = history(shape, folder)
    end_ms = END_S * 1000
    settings = UsageSettings(window_days=shape.days)
    n = shape.hosts * shape.per_host
    found: list[tuple[int, str]] = []

    def recommend() -> float:
        t = time.perf_counter()
        recs = rightsize(store, end_ms, usage_settings=settings)
        took = time.perf_counter() - t
        found.append((sum(r.defined for r in recs), digest(recs)))
        assert len(recs) == n, (len(recs), n)
        return took

    def floor() -> float:
        t = time.perf_counter()
        store.select(CPU, end_ms - shape.days * DAY, end_ms, step_ms=3_600_000)
        return time.perf_counter() - t

    try:
        took, base = median_of(RUNS, recommend), median_of(RUNS, floor)
    finally:
        store.close()
    assert len(set(found)) == 1, f"the runs disagree: {found}"
    load = os.getloadavg()[0]
    return [
        Row(
            f"{shape.label}right-sizing {n:,} containers, {shape.days} days on SQLite (median of {RUNS}, "
            f"load {load:.1f}; history {how})",
            f"{took * 1000:.0f} ms",
            f"{took / base:.1f}x one bulk 1 h read of one metric ({base * 1000:.0f} ms); "
            f"{found[-1][0]:,} defined, digest {found[-1][1]}",
            "< 2 s" if shape is FULL else "(14 days: < 2 s)",
            ("ok" if took < 2 else "SLOW") if shape is FULL else "",
        )
    ]
