"""Where the engine reads raw samples: a tiny protocol, an in-memory source and the Store adapter.

A source answers ``select(matchers, start_ms, end_ms)`` with every series whose labels satisfy all
matchers (``__name__`` included) and its samples with ``start_ms <= ts <= end_ms``, as
``(labels, ts int64 ndarray, values float64 ndarray)`` sorted by time. This module is the only
place that knows the Store's read API.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.kernel.selector import Matcher, Selector
from core.promql.result import NAME, Labels, key
from core.promql.rollup_windows import Buckets
from core.storage.tsdb.read import is_stale

if TYPE_CHECKING:
    from core.storage.tsdb.head_cache import Block as HeadBlock
    from core.storage.tsdb.store import Store

RawSeries = tuple[Labels, np.ndarray, np.ndarray]
# labels, rollup buckets (start, count, sum, min, max), raw samples covering the asked intervals
RollupSeries = tuple[Labels, Buckets, np.ndarray, np.ndarray]
MAX_EDGE_SHARE = 0.5  # raw chunks the window edges may touch, of all in range, for rollups to pay
# 1-minute rollups cost about as much to read from the Store as the raw samples they cover (5
# columns, a quarter of the rows; measured 2026-12-03): only hour buckets pay there
MIN_STORE_WIDTH = 3_600_000


class Source(Protocol):
    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[RawSeries]: ...


PART_SAMPLES = 500_000  # samples one read may hold (8 MB of arrays): bounds a query's memory
_MIN_INTERVAL_MS = 1_000  # the densest series assumed when guessing a read's size cheaply


def select_parts(
    source: Source, matchers: Sequence[Matcher], start_ms: int, end_ms: int
) -> Iterator[list[RawSeries]]:
    """What ``source.select`` answers, in parts of about ``PART_SAMPLES`` samples, in label order
    across parts, where the source can read that way (``select_parts``); else in one part."""
    parts = getattr(source, "select_parts", None)
    if parts is None:
        yield source.select(matchers, start_ms, end_ms)
        return
    yield from parts(matchers, start_ms, end_ms)


class RollupSource(Protocol):
    """A source that can also answer from rollups (optional: the engine asks with ``getattr``).

    ``select_rollup`` gives every matching series' buckets of ``width`` starting in
    ``[start_ms - start_ms % width, end_ms]`` and its raw samples (stale markers dropped) in at
    least the closed ``intervals``; or None when reading them would not pay (or is impossible).
    ``select_buckets`` gives the buckets alone (no raw sample), or None when a matching series
    ever had a stale marker (rollups leave them out; :mod:`core.promql.rollup_select`).
    """

    def select_buckets(
        self, matchers: Sequence[Matcher], width: int, start_ms: int, end_ms: int
    ) -> list[tuple[Labels, Buckets]] | None: ...

    def select_rollup(
        self,
        matchers: Sequence[Matcher],
        width: int,
        start_ms: int,
        end_ms: int,
        intervals: list[tuple[int, int]],
    ) -> list[RollupSeries] | None: ...


def buckets_from_raw(ts: np.ndarray, values: np.ndarray, width: int) -> Buckets:
    """Rollup buckets computed in memory, as the Store's rollups are (sorted raw samples in)."""
    starts = ts - ts % width
    cut = np.flatnonzero(np.diff(starts)) + 1
    firsts = np.r_[0, cut].astype(np.int64)
    lasts = np.r_[cut - 1, ts.size - 1].astype(np.int64)
    if ts.size == 0:
        z = np.zeros(0)
        return Buckets(np.zeros(0, np.int64), z, z, z, z, z, z, z, z)
    return Buckets(
        starts[firsts],
        np.diff(np.r_[firsts, ts.size]).astype(np.float64),
        np.add.reduceat(values, firsts),
        np.fmin.reduceat(values, firsts),
        np.fmax.reduceat(values, firsts),
        values[firsts],
        ts[firsts].astype(np.float64),
        values[lasts],
        ts[lasts].astype(np.float64),
    )


def matches(matchers: Iterable[Matcher], labels: Labels) -> bool:
    return all(m.matches(labels) for m in matchers)


class MemorySource:
    """Series held in memory (tests, Prometheus' test files); values may hold stale markers."""

    def __init__(self, rollups: bool = False) -> None:
        self._series: dict[tuple[tuple[str, str], ...], tuple[Labels, list[int], list[float]]] = {}
        self.rollups = rollups  # also answer select_rollup (tests of the rollup path)

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

    def select_rollup(
        self,
        matchers: Sequence[Matcher],
        width: int,
        start_ms: int,
        end_ms: int,
        intervals: list[tuple[int, int]],
    ) -> list[RollupSeries] | None:
        if not self.rollups:
            return None
        out = []
        for labels, ts, values in self.select(matchers, start_ms - start_ms % width, end_ms + width):
            fresh = ~is_stale(values)
            ts, values = ts[fresh], values[fresh]
            buckets = buckets_from_raw(ts, values, width)
            keep = buckets.ts <= end_ms
            cut = Buckets(*(np.asarray(a)[keep] for a in vars(buckets).values()))
            inside = (ts >= start_ms) & (ts <= end_ms)
            out.append((labels, cut, ts[inside], values[inside]))
        return out

    def select_buckets(
        self, matchers: Sequence[Matcher], width: int, start_ms: int, end_ms: int
    ) -> list[tuple[Labels, Buckets]] | None:
        if not self.rollups:
            return None
        out = []
        for labels, ts, values in self.select(matchers, -(2**62), 2**62):
            if is_stale(values).any():
                return None
            buckets = buckets_from_raw(ts, values, width)
            keep = (buckets.ts >= start_ms - start_ms % width) & (buckets.ts <= end_ms)
            out.append((labels, Buckets(*(np.asarray(a)[keep] for a in vars(buckets).values()))))
        return out


class ScopedSource:
    """Another source seen through extra matchers (a team's scope): every selection gets them."""

    def __init__(self, inner: Source, matchers: Sequence[Matcher]) -> None:
        self.inner, self.matchers = inner, tuple(matchers)

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[RawSeries]:
        return self.inner.select((*matchers, *self.matchers), start_ms, end_ms)

    def select_parts(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> Iterator[list[RawSeries]]:
        return select_parts(self.inner, (*matchers, *self.matchers), start_ms, end_ms)

    def select_rollup(
        self,
        matchers: Sequence[Matcher],
        width: int,
        start_ms: int,
        end_ms: int,
        intervals: list[tuple[int, int]],
    ) -> list[RollupSeries] | None:
        inner = getattr(self.inner, "select_rollup", None)
        if inner is None:
            return None
        found: list[RollupSeries] | None = inner(
            (*matchers, *self.matchers), width, start_ms, end_ms, intervals
        )
        return found

    def select_buckets(
        self, matchers: Sequence[Matcher], width: int, start_ms: int, end_ms: int
    ) -> list[tuple[Labels, Buckets]] | None:
        inner = getattr(self.inner, "select_buckets", None)
        if inner is None:
            return None
        found: list[tuple[Labels, Buckets]] | None = inner(
            (*matchers, *self.matchers), width, start_ms, end_ms
        )
        return found


class StoreSource:
    """Pulse's Store as a source: raw samples, and rollups where the engine can use them exactly."""

    def __init__(self, store: Store, rollups: bool = True) -> None:
        self.store = store
        self.rollups = rollups

    def _metric_names(self, name_matchers: list[Matcher]) -> list[str]:
        equal = [m.value for m in name_matchers if m.op == "="]
        names = equal[:1] if equal else self.store.metrics()
        return [n for n in names if matches(name_matchers, {NAME: n})]

    def _found(self, matchers: Sequence[Matcher]) -> list[tuple[int, Labels]]:
        by_name = [m for m in matchers if m.label == NAME]
        others = tuple(m for m in matchers if m.label != NAME)
        found: list[tuple[int, Labels]] = []
        for metric in self._metric_names(by_name):
            for sid, labels in self.store.find_series(Selector(metric, others)):
                labels[NAME] = metric  # the caller's own copy
                found.append((sid, labels))
        return found

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[RawSeries]:
        found = self._found(matchers)
        return self._read(found, start_ms, end_ms) if found else []

    def _read(
        self,
        found: list[tuple[int, Labels]],
        start_ms: int,
        end_ms: int,
        cached: bool = True,
        head: Sequence[HeadBlock] | None = None,
    ) -> list[RawSeries]:
        by_sid = self.store.raw_series([sid for sid, _ in found], start_ms, end_ms + 1, cached, head)
        empty = (np.zeros(0, np.int64), np.zeros(0, np.float64))
        return [(labels, *by_sid.get(sid, empty)) for sid, labels in found]

    def select_parts(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> Iterator[list[RawSeries]]:
        """Series in label order, read a group at a time so that no read holds much more than
        ``PART_SAMPLES`` samples (sizes from the chunk index and the head blocks' counts; asked
        only when a read of every series at one sample a second could exceed it)."""
        found = sorted(self._found(matchers), key=lambda f: key(f[1]))
        span = max(end_ms - start_ms, 0) // _MIN_INTERVAL_MS + 1
        if not found or len(found) * span <= PART_SAMPLES:
            if found:
                yield self._read(found, start_ms, end_ms)
            return
        in_chunks, in_head = self.store.stored_counts([sid for sid, _ in found], start_ms, end_ms + 1)
        head_share = in_head // len(found) + 1  # the head's samples, as if every series had its share
        cached = self.store.cacheable(sum(in_chunks.values()) + in_head)  # else parts push each other out
        head = self.store.head_blocks(start_ms, end_ms + 1) if in_head else None  # decoded once, not per part
        group: list[tuple[int, Labels]] = []
        size = 0
        for sid, labels in found:
            n = in_chunks.get(sid, 0) + head_share
            if group and size + n > PART_SAMPLES:
                yield self._read(group, start_ms, end_ms, cached, head)
                group, size = [], 0
            group.append((sid, labels))
            size += n
        yield self._read(group, start_ms, end_ms, cached, head)

    def select_rollup(
        self,
        matchers: Sequence[Matcher],
        width: int,
        start_ms: int,
        end_ms: int,
        intervals: list[tuple[int, int]],
    ) -> list[RollupSeries] | None:
        """Declines (None) when the edges would touch most raw chunks of the range anyway."""
        if not self.rollups or width < MIN_STORE_WIDTH:
            return None
        raw_kept_from = self.store.now_ms() - int(self.store.settings.retention.raw_days * 86_400_000)
        if intervals and start_ms < raw_kept_from:  # edges whose raw samples retention dropped:
            return None  # not the raw answer (windows of whole buckets need no raw sample: answered)
        found = self._found(matchers)
        if not found:
            return []
        ids = [sid for sid, _ in found]
        if intervals:  # no raw edges at all (whole buckets at bucket starts): rollups alone
            touched, total = self.store.edge_reads(ids, intervals, start_ms, end_ms + 1)
            if total == 0 or touched > total * MAX_EDGE_SHARE:
                return None
        rows = self.store.rollup_series(width, ids, start_ms - start_ms % width, end_ms + 1)
        raw = self.store.raw_series_within(ids, start_ms, end_ms + 1, intervals) if intervals else {}
        none = np.zeros(0, np.int64), np.zeros(0, np.float64)
        out: list[RollupSeries] = []
        for sid, labels in found:
            cols = rows.get(sid)
            buckets = Buckets(*cols) if cols else Buckets(none[0], *(none[1],) * 8)
            out.append((labels, buckets, *raw.get(sid, none)))
        return out

    def select_buckets(
        self, matchers: Sequence[Matcher], width: int, start_ms: int, end_ms: int
    ) -> list[tuple[Labels, Buckets]] | None:
        """Declines (None) for minute buckets and when a series ever had a stale marker."""
        if not self.rollups or width < MIN_STORE_WIDTH:
            return None
        found = self._found(matchers)
        if not found:
            return []
        ids = [sid for sid, _ in found]
        if self.store.ever_stale(ids):
            return None
        rows = self.store.rollup_series(width, ids, start_ms - start_ms % width, end_ms + 1)
        empty = Buckets(np.zeros(0, np.int64), *(np.zeros(0),) * 8)
        return [(labels, Buckets(*rows[sid]) if sid in rows else empty) for sid, labels in found]
