"""Where the engine reads raw samples: a tiny protocol, an in-memory source and the Store adapter.

A source answers ``select(matchers, start_ms, end_ms)`` with every series whose labels satisfy all
matchers (``__name__`` included) and its samples with ``start_ms <= ts <= end_ms``, as
``(labels, ts int64 ndarray, values float64 ndarray)`` sorted by time. This module is the only
place that knows the Store's read API.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.kernel.selector import Matcher, Selector
from core.promql.result import NAME, Labels, key

if TYPE_CHECKING:
    from core.storage.tsdb.store import Store

RawSeries = tuple[Labels, np.ndarray, np.ndarray]


class Source(Protocol):
    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[RawSeries]: ...


def matches(matchers: Iterable[Matcher], labels: Labels) -> bool:
    return all(m.matches(labels) for m in matchers)


class MemorySource:
    """Series held in memory (tests, Prometheus' test files); values may hold stale markers."""

    def __init__(self) -> None:
        self._series: dict[tuple[tuple[str, str], ...], tuple[Labels, list[int], list[float]]] = {}

    def add(self, labels: Labels, ts_ms: int, value: float) -> None:
        entry = self._series.setdefault(key(labels), (dict(labels), [], []))
        entry[1].append(ts_ms)
        entry[2].append(value)

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[RawSeries]:
        out = []
        for labels, ts_list, vals in self._series.values():
            if not matches(matchers, labels):
                continue
            ts = np.asarray(ts_list, dtype=np.int64)
            order = np.argsort(ts, kind="stable")
            ts, values = ts[order], np.asarray(vals, dtype=np.float64)[order]
            keep = (ts >= start_ms) & (ts <= end_ms)
            out.append((dict(labels), ts[keep], values[keep]))
        return out


class ScopedSource:
    """Another source seen through extra matchers (a team's scope): every selection gets them."""

    def __init__(self, inner: Source, matchers: Sequence[Matcher]) -> None:
        self.inner, self.matchers = inner, tuple(matchers)

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[RawSeries]:
        return self.inner.select((*matchers, *self.matchers), start_ms, end_ms)


class StoreSource:
    """Pulse's Store as a source: series by metric name and matchers, raw samples (never rollups)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _metric_names(self, name_matchers: list[Matcher]) -> list[str]:
        equal = [m.value for m in name_matchers if m.op == "="]
        names = equal[:1] if equal else self.store.metrics()
        return [n for n in names if matches(name_matchers, {NAME: n})]

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[RawSeries]:
        by_name = [m for m in matchers if m.label == NAME]
        others = tuple(m for m in matchers if m.label != NAME)
        found: list[tuple[int, Labels]] = []
        for metric in self._metric_names(by_name):
            frame = self.store.series(Selector(metric, others))
            for sid, labels in zip(frame["id"].to_list(), frame["labels"].to_list(), strict=True):
                found.append((int(sid), {**labels, NAME: metric}))
        if not found:
            return []
        raw = self.store.raw([sid for sid, _ in found], start_ms, end_ms + 1)
        sids = raw["series_id"].to_numpy()
        ts_all, val_all = raw["ts"].to_numpy(), raw["value"].to_numpy()
        out = []  # raw is sorted by series, then time
        for sid, labels in found:
            lo = int(np.searchsorted(sids, sid, "left"))
            hi = int(np.searchsorted(sids, sid, "right"))
            out.append((labels, ts_all[lo:hi].astype(np.int64), val_all[lo:hi].astype(np.float64)))
        return out
