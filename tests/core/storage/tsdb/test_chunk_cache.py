"""The decoded-chunk cache: a rewritten chunk is never answered from the cache, the cache is
bounded, and what it holds cannot be changed in place."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import sqlalchemy as sa

from core.kernel.samples import Sample, labels_of
from core.storage.schema import chunks
from core.storage.tsdb.chunk_cache import CACHE, ChunkCache
from core.storage.tsdb.chunks import encode
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock

HOUR = 3_600_000


def _chunk_rows(store: Store) -> list[tuple[int, int, int, int]]:
    c = chunks.c
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(c.series_id, c.start_ts, c.end_ts, c.n))]  # type: ignore[misc]


def test_a_chunk_rewritten_with_the_same_bounds_and_count_is_read_anew(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    """The read after a chunk's bytes changed gives the new value, not the cached decoding of the
    old bytes, also when its series, start, end and count stayed the same."""
    store = make_store(ingest={"chunk_seconds": 7200})
    start = T0_MS - 6 * HOUR
    ts = list(range(start, start + 2 * HOUR, 15_000))
    store.write([Sample("m", labels_of(host="a"), t, 1.0) for t in ts])
    assert store.compact() == 1
    (sid,) = store.series("m")["id"].to_list()
    before = _chunk_rows(store)
    first = store.raw_series([sid], start, start + 2 * HOUR)[sid]
    assert first[1][10] == 1.0
    hits = CACHE.hits
    store.raw_series([sid], start, start + 2 * HOUR)
    assert CACHE.hits > hits  # the second read of the same chunk was not decoded again

    # whatever rewrites a chunk (compaction merging a backfilled sample, another process) keeps
    # its series, bounds and count when it replaces one value: only the bytes change
    values = np.ones(len(ts))
    values[10] = 7.5
    with store.engine.begin() as conn:
        conn.execute(sa.update(chunks).values(data=encode(np.asarray(ts, np.int64), values)))
    assert _chunk_rows(store) == before  # same series, bounds and count: only the bytes differ
    again = store.raw_series([sid], start, start + 2 * HOUR)[sid]
    assert again[1][10] == 7.5
    assert np.array_equal(np.delete(again[1], 10), np.delete(first[1], 10))


def test_cached_arrays_are_read_only() -> None:
    cache = ChunkCache(1 << 20)
    blob = encode(np.arange(5, dtype=np.int64) * 1000, np.arange(5, dtype=np.float64))
    ts, values = cache.decode_many([blob])[0]
    with pytest.raises(ValueError, match="read-only"):
        values[0] = 42.0
    assert cache.decode_many([blob])[0][1] is values  # the same arrays, untouched


def test_the_cache_keeps_within_its_bound_and_drops_the_least_recently_used() -> None:
    blobs = [encode(np.arange(1000, dtype=np.int64) * 1000, np.full(1000, float(i))) for i in range(10)]
    one = 16_000 + len(blobs[0])  # decoded bytes of a chunk of 1,000 samples, plus its key
    cache = ChunkCache(3 * one + 100)
    for b in blobs[:3]:
        cache.decode_many([b])
    cache.decode_many([blobs[0]])  # used again: the newest
    cache.decode_many([blobs[3]])  # pushes out the least recently used, blobs[1]
    assert cache._bytes <= cache.max_bytes
    misses = cache.misses
    cache.decode_many([blobs[0], blobs[2], blobs[3]])
    assert cache.misses == misses
    cache.decode_many([blobs[1]])
    assert cache.misses == misses + 1
    decoded = cache.decode_many(blobs)  # more than fits: every answer still right
    assert [float(v[0]) for _, v in decoded] == [float(i) for i in range(10)]
    assert cache._bytes <= cache.max_bytes


def test_a_cache_of_size_zero_decodes_every_time() -> None:
    cache = ChunkCache(0)
    blob = encode(np.arange(3, dtype=np.int64), np.ones(3))
    cache.decode_many([blob])
    cache.decode_many([blob])
    assert cache.misses == 2 and cache._bytes == 0
