"""Shared helpers of the benchmarks: fresh stores, demo data, timing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from collectors.demo import DemoCollector
from core.kernel.samples import Sample
from core.kernel.settings import DemoSettings, Settings, load_settings
from core.storage.tsdb import Store, open_store

DAY = 86_400_000
QUICK = False  # `python -m bench NAME --quick`: the long benchmarks with short windows or histories


@dataclass
class Row:
    name: str
    value: str
    ratio: str = ""
    target: str = ""
    verdict: str = ""


class Clock:
    """A settable clock for stores that must see 'now' far after the data (compaction, retention)."""

    def __init__(self, now_s: float) -> None:
        self.now = now_s

    def __call__(self) -> float:
        return self.now


def fresh_store(
    folder: Path, name: str, clock: Callable[[], float] = time.time, **overrides: object
) -> Store:
    path = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    settings: Settings = load_settings(database_url=f"sqlite:///{path}", **overrides)
    return open_store(settings, clock=clock)


def demo_samples(start_ms: int, end_ms: int, step_ms: int, gauges_only: bool = False) -> list[Sample]:
    demo = DemoCollector(DemoSettings(seed=7))
    out: list[Sample] = []
    for batch in demo.backfill(start_ms, end_ms, step_ms):
        out.extend(s for s in batch if not (gauges_only and s.metric.endswith("_total")))
    return out


def median_of(runs: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(runs))


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    """``fn`` as a call that returns its wall seconds (for ``median_of``)."""

    def once() -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    return once
