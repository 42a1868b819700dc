"""The decoded head-block cache: a block trimmed by compaction or a new block is never answered
from the cache, ids are never reused, picking a block's series gives what a scan gives, and
blocks cached merged by id range read as the blocks themselves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from core.kernel.samples import Sample, labels_of
from core.storage.schema import head
from core.storage.tsdb import head_cache as head_cache_mod
from core.storage.tsdb.head_cache import GROUP, Block, head_cache
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock

HOUR = 3_600_000


def _heads(store: Store) -> list[tuple[int, int]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(head.c.id, head.c.n).order_by(head.c.id))]  # type: ignore[misc]


def test_a_read_after_compaction_trimmed_the_block_gives_every_sample_once(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store(ingest={"chunk_seconds": 3600, "out_of_order_window_s": 600})
    start = T0_MS - 3 * HOUR
    ts = list(range(start, T0_MS, 60_000))  # one block from 3 h ago to now
    store.write([Sample("m", labels_of(host="a"), t, float(i)) for i, t in enumerate(ts)])
    (sid,) = store.series("m")["id"].to_list()
    first = store.raw_series([sid], start, T0_MS + 1)[sid]
    with store.engine.connect() as conn:
        cache = head_cache(conn)
    hits = cache.hits
    assert np.array_equal(store.raw_series([sid], start, T0_MS + 1)[sid][1], first[1])
    assert cache.hits > hits  # the second read took the decoded block from the cache
    (before,) = _heads(store)
    assert store.compact() >= 1
    (after,) = _heads(store)
    assert after[0] == before[0] and after[1] < before[1]  # trimmed in place: same id, fewer samples
    again_ts, again_v = store.raw_series([sid], start, T0_MS + 1)[sid]
    assert again_ts.tolist() == ts and again_v.tolist() == [float(i) for i in range(len(ts))]


def test_head_ids_are_never_reused(make_store: Callable[..., Store], clock: FakeClock) -> None:
    """The cache's key names one content only if a deleted block's id never comes back."""
    store = make_store()
    store.write([Sample("m", labels_of(host="a"), T0_MS - 60_000, 1.0)])
    store.write([Sample("m", labels_of(host="a"), T0_MS - 30_000, 2.0)])
    newest = _heads(store)[-1][0]
    with store.engine.begin() as conn:
        conn.execute(sa.delete(head).where(head.c.id == newest))
    store.write(
        [Sample("m", labels_of(host="a"), T0_MS - 30_000, 3.0)]
    )  # same size and span as the deleted one
    assert _heads(store)[-1][0] > newest
    (sid,) = store.series("m")["id"].to_list()
    assert store.raw_series([sid], T0_MS - HOUR, T0_MS)[sid][1].tolist() == [1.0, 3.0]


@given(
    sids=st.lists(st.integers(0, 30), min_size=0, max_size=200),
    wanted=st.sets(st.integers(-2, 33), max_size=40),
)
def test_rows_of_picks_what_a_scan_picks(sids: list[int], wanted: set[int]) -> None:
    n = len(sids)
    block = Block.of(np.asarray(sids, np.int64), np.arange(n, dtype=np.int64), np.arange(n, dtype=np.float64))
    want = np.asarray(sorted(wanted), np.int64)
    rows = block.rows_of(want)
    expected = np.flatnonzero(np.isin(block.sids, want))
    assert rows.tolist() == expected.tolist()
    # write order is kept within each series
    for s in set(sids):
        got = block.ts[block.sids == s]
        assert np.all(np.diff(got) > 0)


def test_two_databases_in_one_process_do_not_share_cached_blocks(tmp_path: Path, clock: FakeClock) -> None:
    """Head ids are unique only within a database: the same (id, n, min, max) in another one is
    another block."""
    from core.kernel.settings import load_settings
    from core.storage.tsdb import open_store

    stores = [
        open_store(load_settings(database_url=f"sqlite:///{tmp_path}/{i}.db"), clock=clock) for i in range(2)
    ]
    try:
        for i, store in enumerate(stores):
            store.write([Sample("m", labels_of(host="a"), T0_MS, float(i))])
        for i, store in enumerate(stores):
            (sid,) = store.series("m")["id"].to_list()
            assert store.raw_series([sid], T0_MS, T0_MS + 1)[sid][1].tolist() == [float(i)]
    finally:
        for store in stores:
            store.close()


def test_a_written_block_is_stored_ordered_by_series_in_write_order_within_each(store: Store) -> None:
    """Readers order every head block by series: stored that way, that is one pass per read,
    not a sort. A (series, ts) written twice in one batch still reads back as its last write."""
    from core.storage.tsdb.block import unpack

    hosts = ["c", "a", "b"]
    batch = [
        Sample("m", labels_of(host=hosts[i % 3]), T0_MS - 60_000 * (i // 3), float(i)) for i in range(30)
    ]
    batch.append(Sample("m", labels_of(host="a"), T0_MS, 99.0))  # host a at T0 again: the last write
    store.write(batch)
    with store.engine.connect() as conn:
        ((blob, n),) = conn.execute(sa.select(head.c.data, head.c.n)).all()
    sids, ts, values = unpack(blob, n)
    assert (np.diff(sids) >= 0).all()
    for sid in np.unique(sids).tolist():
        mine = values[sids == sid].tolist()
        assert mine == sorted(mine)  # the batch's order within the series (values rise with i)
    found = store.series("m")
    sid_a = next(i for i, lb in zip(found["id"], found["labels"], strict=True) if lb["host"] == "a")
    got_ts, got_v = store.raw_series([sid_a], T0_MS - HOUR, T0_MS + 1)[sid_a]
    assert got_ts[-1] == T0_MS and got_v[-1] == 99.0


def _small_blocks(store: Store, count: int) -> tuple[list[int], int]:
    """``count`` writes of one sample for each of two series (one head block each), 10 s apart."""
    first = T0_MS - HOUR
    for i in range(count):
        store.write([Sample("m", labels_of(host=h), first + i * 10_000, float(i)) for h in ("a", "b")])
    return store.series("m")["id"].to_list(), first


@pytest.mark.parametrize("merge_limit", [head_cache_mod.MERGE_LIMIT, 1])  # 1: every block on its own
def test_blocks_merged_by_id_range_read_as_the_blocks(
    make_store: Callable[..., Store], clock: FakeClock, monkeypatch: pytest.MonkeyPatch, merge_limit: int
) -> None:
    monkeypatch.setattr(head_cache_mod, "MERGE_LIMIT", merge_limit)
    store = make_store()
    count = 2 * GROUP + 20  # three id ranges at least
    ids, first = _small_blocks(store, count)
    with store.engine.connect() as conn:
        cache = head_cache(conn)
        cache.clear()
        blocks = list(cache.blocks(conn, first, T0_MS))
    assert len(blocks) == (count if merge_limit == 1 else len({i // GROUP for i in _block_ids(store)}))
    every = store.raw_series(ids, first, T0_MS)
    assert {sid: v.tolist() for sid, (_, v) in every.items()} == {
        sid: [float(i) for i in range(count)] for sid in ids
    }
    inside = store.raw_series(ids, first + 700_000, first + 900_000)  # a window in the middle
    assert all(
        ts.tolist() == list(range(first + 700_000, first + 900_000, 10_000)) for ts, _ in inside.values()
    )
    misses = cache.misses
    store.raw_series(ids, first + 300_000, first + 1_200_000)
    assert cache.misses == misses  # every block from the cache
    with store.engine.connect() as conn:  # blocks kept one by one: only those of the range are read
        narrow = list(cache.blocks(conn, first + 300_000, first + 400_000))
    assert len(narrow) == (10 if merge_limit == 1 else 1)


def _block_ids(store: Store) -> list[int]:
    return [bid for bid, _ in _heads(store)]


def test_a_new_block_in_a_cached_group_is_read_and_its_write_wins(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    ids, first = _small_blocks(store, GROUP // 2)  # one group, not full
    store.raw_series(ids, first, T0_MS)  # cached
    store.write([Sample("m", labels_of(host="a"), first + 50_000, 99.0)])  # (a, ts) again, a new block
    (sid_a,) = store.series('m{host="a"}')["id"].to_list()
    ts, values = store.raw_series(ids, first, T0_MS)[sid_a]
    assert ts.tolist() == [first + i * 10_000 for i in range(GROUP // 2)]
    assert values.tolist() == [99.0 if i == 5 else float(i) for i in range(GROUP // 2)]
