"""Decoded raw chunks kept in memory, so that a dashboard refresh or a rule evaluation that reads
the same chunks again does not decode them again.

The key is the chunk's stored bytes themselves: a chunk that compaction or retention rewrote has
other bytes and so another entry, whichever process rewrote it, and no key can ever name stale
content (no version column, no invalidation). A hit costs the blob's fetch, its hash and one
comparison; a miss decodes with :func:`decode_tables` (one numpy pass per chunk layout).

The cache is per process and bounded by the decoded bytes it holds (``PULSE_CHUNK_CACHE_MB``,
default 64; 0 turns it off), least recently used out first. Cached arrays are read-only: code
that would change a sample in place fails loudly instead of changing the cache.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np

from core.storage.tsdb.chunks import decode_tables

Decoded = tuple[np.ndarray, np.ndarray]


class ChunkCache:
    """A least-recently-used map of chunk bytes -> (int64 ts, float64 values), bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[bytes, Decoded] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def decode_many(self, blobs: list[bytes]) -> list[Decoded]:
        """Each blob decoded, in order; the ones not cached are decoded together."""
        out: list[Decoded | None] = [None] * len(blobs)
        todo: list[int] = []
        with self._lock:
            for i, blob in enumerate(blobs):
                found = self._entries.get(blob)
                if found is None:
                    todo.append(i)
                else:
                    self._entries.move_to_end(blob)
                    out[i] = found
            self.hits += len(blobs) - len(todo)
            self.misses += len(todo)
        if todo:
            for i, decoded in zip(todo, _decode([blobs[i] for i in todo]), strict=True):
                out[i] = decoded
            self._keep([(blobs[i], out[i]) for i in todo])  # type: ignore[misc]
        return out  # type: ignore[return-value]

    def _keep(self, items: list[tuple[bytes, Decoded]]) -> None:
        if self.max_bytes <= 0:
            return
        with self._lock:
            for blob, (ts, values) in items:
                size = ts.nbytes + values.nbytes + len(blob)
                if size > self.max_bytes or blob in self._entries:
                    continue
                self._entries[blob] = (ts, values)
                self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                blob, (ts, values) = self._entries.popitem(last=False)
                self._bytes -= ts.nbytes + values.nbytes + len(blob)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


def _decode(blobs: list[bytes]) -> list[Decoded]:
    counts, ts, (values,) = decode_tables(blobs, 1)
    offsets = np.r_[0, np.cumsum(counts)].tolist()
    out = []
    for a, b in zip(offsets[:-1], offsets[1:], strict=True):
        t, v = ts[a:b].copy(), values[a:b].copy()  # own memory: a cached slice must not pin the batch
        t.flags.writeable = v.flags.writeable = False
        out.append((t, v))
    return out


CACHE = ChunkCache(int(float(os.environ.get("PULSE_CHUNK_CACHE_MB", "64")) * 1024 * 1024))


def cached_bytes() -> int:
    """Bytes the process' chunk cache holds (decoded arrays and their keys)."""
    return CACHE._bytes


def decode_chunks(blobs: list[bytes]) -> list[Decoded]:
    """Raw chunks decoded through the process' cache."""
    return CACHE.decode_many(blobs)
