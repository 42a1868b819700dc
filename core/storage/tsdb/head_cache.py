"""Decoded head blocks kept in memory, ordered by series, so that a query over recent samples
neither fetches a block's bytes again nor scans all of its samples for the few series it wants.

A head block is one written batch: a query over the last minutes fetched the whole block (1.5 MB
for a backfilled day's tail) and tested every sample's series with ``np.isin``, for every query.

Blocks are cached merged, GROUP consecutive ids at a time (one Block of all their samples,
still in write order within each series): collection at a 1 s interval writes a block every
second or two, and a dashboard query over the last five minutes then picked its series out of
~200 blocks one by one (4 ms of numpy calls; 13 ms over an hour), a page's dozen queries most of
its run. A group is read with every block of its id range, also those outside the query's time
range (the reader cuts samples to the range), so the middle groups of a sliding window stay the
same entries; a group whose blocks hold over MERGE_LIMIT samples (a 10,000-series backfill)
stays block by block.

A block's key is (id, n, min_ts, max_ts), a group's the tuple of its blocks' keys. It names one
content because ids are never given to another
block (AUTOINCREMENT on SQLite since migration 0017; a sequence on PostgreSQL) and the only
change to a stored block is compaction trimming it in place, which always lowers ``n``. So the
metadata query (index only) finds what is cached, and only the other groups' bytes are fetched.
A block rewritten between the two queries (another process compacting) is keyed by what was
fetched.

One cache per database engine (ids are unique only within a database), each bounded by the
bytes it holds (``PULSE_HEAD_CACHE_MB``, default 32; 0 turns it off), least recently used out
first. Arrays are read-only. A database file replaced under a running process by another
database (not a copy of the same one) could share ids with the old one: restart the process.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.storage.schema import head
from core.storage.tsdb.block import unpack

Key = tuple[int, int, int, int]  # id, n, min_ts, max_ts
Group = tuple[Key, ...]  # consecutive blocks of one id range, cached as one merged Block

GROUP = 64  # block ids per group
MERGE_LIMIT = 250_000  # samples: a group holding more is kept block by block

_OVERLAP = (head.c.max_ts >= sa.bindparam("start"), head.c.min_ts < sa.bindparam("end"))
_LOWEST = sa.select(sa.func.min(head.c.id)).where(*_OVERLAP).scalar_subquery()
_HIGHEST = sa.select(sa.func.max(head.c.id)).where(*_OVERLAP).scalar_subquery()
_META = (  # every block in the id ranges of the groups that hold an overlapping block
    sa.select(head.c.id, head.c.n, head.c.min_ts, head.c.max_ts)
    .where(head.c.id >= _LOWEST // GROUP * GROUP, head.c.id < (_HIGHEST // GROUP + 1) * GROUP)
    .order_by(head.c.id)
)
_DATA = sa.select(head.c.id, head.c.n, head.c.min_ts, head.c.max_ts, head.c.data).where(
    head.c.id.in_(sa.bindparam("ids", expanding=True))
)


@dataclass(frozen=True)
class Block:
    """One head block's samples ordered by series (write order kept within a series)."""

    sids: np.ndarray  # int64, sorted
    ts: np.ndarray
    values: np.ndarray
    present: np.ndarray  # the distinct series ids, sorted
    first: np.ndarray  # where each of them starts in the arrays
    stop: np.ndarray  # and where it ends

    @classmethod
    def of(cls, sids: np.ndarray, ts: np.ndarray, values: np.ndarray) -> Block:
        order = np.argsort(sids, kind="stable")
        sids, ts, values = sids[order], ts[order], values[order]
        present, first = np.unique(sids, return_index=True)
        stop = np.append(first[1:], sids.size)
        for a in (sids, ts, values, present, first, stop):
            a.flags.writeable = False
        return cls(sids, ts, values, present, first, stop)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.sids, self.ts, self.values, self.present, self.first, self.stop))

    def rows_of(self, wanted: np.ndarray) -> np.ndarray:
        """Positions of the samples of the series in ``wanted`` (sorted, distinct), in order."""
        at = np.searchsorted(self.present, wanted)
        hit = at < self.present.size
        hit[hit] = self.present[at[hit]] == wanted[hit]
        at = at[hit]
        if at.size == self.present.size:
            return np.arange(self.sids.size)
        starts = self.first[at]
        lengths = self.stop[at] - starts
        if not lengths.size:
            return np.zeros(0, np.int64)
        # concatenated aranges [start, stop) of each hit series, without a Python loop
        ends = np.cumsum(lengths)
        return np.arange(int(ends[-1])) + np.repeat(starts - (ends - lengths), lengths)


def _groups(keys: list[Key], start: int, end: int) -> list[Group]:
    """Keys (ordered by id) cut into groups of one id range each; a group over MERGE_LIMIT
    samples becomes one group per block overlapping [start, end) (its others are not read)."""
    runs: list[list[Key]] = []
    for key in keys:
        if runs and runs[-1][0][0] // GROUP == key[0] // GROUP:
            runs[-1].append(key)
        else:
            runs.append([key])
    out: list[Group] = []
    for run in runs:
        if sum(k[1] for k in run) > MERGE_LIMIT:
            out.extend((k,) for k in run if k[3] >= start and k[2] < end)
        else:
            out.append(tuple(run))
    return out


def _merged(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Block:
    """One Block of blocks' samples given in write order (a stable sort keeps it per series)."""
    if len(parts) == 1:
        return Block.of(*parts[0])
    return Block.of(*(np.concatenate([p[i] for p in parts]) for i in range(3)))


class HeadCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Group, Block] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0  # blocks taken from the cache / fetched and decoded

    def blocks(self, conn: Connection, start: int, end: int) -> Iterator[Block]:
        """Blocks holding every head sample in [start, end) (and maybe others around it: the
        reader cuts to the range), in write order: merged groups, or single blocks."""
        keys: list[Key] = [tuple(r) for r in conn.execute(_META, {"start": start, "end": end})]
        groups = _groups(keys, start, end)
        with self._lock:
            found = {g: b for g in groups if (b := self._entries.get(g)) is not None}
            for g in found:
                self._entries.move_to_end(g)
            self.hits += sum(len(g) for g in found)
        missing = [k[0] for g in groups if g not in found for k in g]
        fetched: dict[int, tuple[Key, tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        if missing:
            for bid, n, lo, hi, blob in conn.execute(_DATA, {"ids": missing}):
                fetched[bid] = ((bid, n, lo, hi), unpack(blob, n))
            with self._lock:
                self.misses += len(fetched)
        built: list[tuple[Group, Block]] = []
        for g in groups:
            if g in found:
                yield found[g]
                continue
            have = [fetched[k[0]] for k in g if k[0] in fetched]  # else deleted meanwhile (compacted)
            if have:
                block = _merged([arrays for _, arrays in have])
                built.append((tuple(key for key, _ in have), block))  # keyed by what was fetched
                yield block
        self._keep(built)

    def _keep(self, items: list[tuple[Group, Block]]) -> None:
        if self.max_bytes <= 0:
            return
        with self._lock:
            for key, block in items:
                if block.nbytes > self.max_bytes or key in self._entries:
                    continue
                self._entries[key] = block
                self._bytes += block.nbytes
            while self._bytes > self.max_bytes and self._entries:
                _, old = self._entries.popitem(last=False)
                self._bytes -= old.nbytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


_MAX_BYTES = int(float(os.environ.get("PULSE_HEAD_CACHE_MB", "32")) * 1024 * 1024)
_CACHES: weakref.WeakKeyDictionary[Engine, HeadCache] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def cached_bytes() -> int:
    """Bytes the head caches of every database of this process hold."""
    with _GUARD:
        caches = list(_CACHES.values())
    return sum(c._bytes for c in caches)


def head_cache(conn: Connection) -> HeadCache:
    """The cache of the connection's database (ids are only unique within one database)."""
    with _GUARD:
        return _CACHES.setdefault(conn.engine, HeadCache(_MAX_BYTES))
