"""DemoCollector: live samples and fast history of the simulated fleet, both from one pure model."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from collectors.base import BaseCollector
from collectors.demo.model import Mask, Model
from collectors.demo.signals import F64, HOUR
from collectors.demo.topology import Topology, build_topology
from core.kernel.errors import CollectorError
from core.kernel.samples import Sample
from core.kernel.settings import DemoSettings

if TYPE_CHECKING:
    from core.kernel.settings import Settings

BATCH_SPAN_S = 6 * HOUR  # simulated time per yielded backfill batch
EVAL_STEPS = 2048  # time steps evaluated at once (bounds memory; batches are slices of it)
_new_sample = partial(tuple.__new__, Sample)  # Sample(...) without the Python-level __new__


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building millions of tuples triggers useless GC passes; pause it around the build only."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class DemoCollector(BaseCollector):
    """Simulated MCP Debug Host Platform; every value is a pure function of (seed, time)."""

    def __init__(self, settings: DemoSettings, clock: Callable[[], float] = time.time) -> None:
        super().__init__("demo", float(settings.interval_s))
        self.settings = settings
        self._clock = clock
        self.topology: Topology = build_topology(settings)
        self._model = Model(self.topology)
        self._metrics = [metric for metric, _ in self._model.keys]
        self._labels = [labels for _, labels in self._model.keys]

    def series_count(self) -> int:
        """Number of distinct series (a host that is down reports fewer at that time)."""
        return len(self._model.keys)

    def collect(self) -> list[Sample]:
        """One sample per reporting series at the clock's time, aligned down to the interval."""
        interval_ms = max(1, int(self.settings.interval_s * 1000))
        ts_ms = int(self._clock() * 1000) // interval_ms * interval_ms
        try:
            samples = self._samples(np.array([ts_ms], dtype=np.int64))
        except Exception as exc:
            raise CollectorError(f"demo model failed at {ts_ms}: {exc!r}") from exc
        return samples

    def backfill(self, start_ms: int, end_ms: int, step_ms: int) -> Iterator[list[Sample]]:
        """History over [start_ms, end_ms) every step_ms, as time-ordered batches of ~6 h each."""
        if step_ms <= 0:
            raise ValueError(f"backfill step must be positive, got {step_ms} ms")
        stamps = np.arange(start_ms, end_ms, step_ms, dtype=np.int64)
        per_batch = int(min(max(1, BATCH_SPAN_S * 1000 // step_ms), EVAL_STEPS))
        per_eval = per_batch * max(1, EVAL_STEPS // per_batch)
        for lo in range(0, len(stamps), per_eval):
            chunk = stamps[lo : lo + per_eval]
            values, present = self._model.evaluate(chunk // 1000)
            for b in range(0, len(chunk), per_batch):
                cut = slice(b, b + per_batch)
                yield self._emit(chunk[cut], values[:, cut], present[:, cut])

    def _samples(self, ts_ms: np.ndarray) -> list[Sample]:
        values, present = self._model.evaluate(ts_ms // 1000)
        return self._emit(ts_ms, values, present)

    def _emit(self, ts_ms: np.ndarray, values: F64, present: Mask) -> list[Sample]:
        """Samples in time order, then series order; absent (series, time) pairs are skipped."""
        n, steps = values.shape
        with _gc_paused():
            if present.all():
                stamps = np.repeat(ts_ms, n).tolist()
                flat = values.T.ravel().tolist()
                return list(
                    map(
                        _new_sample,
                        zip(self._metrics * steps, self._labels * steps, stamps, flat, strict=True),
                    )
                )
            t_idx, s_idx = np.nonzero(present.T)
            metrics = [self._metrics[i] for i in s_idx.tolist()]
            labels = [self._labels[i] for i in s_idx.tolist()]
            flat = values[s_idx, t_idx].tolist()
            return list(map(_new_sample, zip(metrics, labels, ts_ms[t_idx].tolist(), flat, strict=True)))


def from_settings(settings: Settings) -> DemoCollector:
    """The built-in ``demo`` collector as the settings configure it (its registered factory)."""
    return DemoCollector(settings.demo)
