"""Compaction encodes every chunk once per run, in bounded passes, keeping write order.

At 10,000 series a 500k-sample transaction held 50 samples of each series, so every 6-hour
chunk was decoded, merged and encoded again 29 times (535 s to compact 14.4M samples). Now the
head blocks of one window are compacted together, a range of series per transaction.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from core.kernel.samples import Sample, labels_of
from core.storage.schema import chunks, head
from core.storage.tsdb import compaction
from core.storage.tsdb.compaction_plan import HeadBlock, series_ranges, units
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock
from tests.core.storage.tsdb.test_retention_compaction import HOUR, everything, fill, rows

W = 100  # window width of the plan tests


def block(i: int, lo: int, hi: int, n: int = 10) -> HeadBlock:
    return HeadBlock(i, n, lo, hi)


def test_blocks_of_one_window_go_together_and_a_spanning_block_keeps_its_place() -> None:
    todo = [
        block(1, 0, 50),
        block(2, 120, 150),
        block(3, 60, 99),
        block(4, 90, 210),  # spans windows 0-2: after 1 and 3, before 5
        block(5, 10, 20),
        block(6, 95, 105),  # straddles windows 0 and 1: joins both groups
        block(7, 250, 310),  # straddles 2 and 3, but window 3 is at the cutoff: only window 2
        block(8, 110, 120),
    ]
    got = [(u.window, [b.id for b in u.blocks]) for u in units(todo, W, cutoff=300)]
    assert got == [(0, [1, 3]), (100, [2]), (None, [4]), (0, [5, 6]), (100, [6, 8]), (200, [7])]


@given(
    st.lists(st.tuples(st.integers(1, 40), st.integers(1, 500)), min_size=1, max_size=60), st.integers(1, 900)
)
def test_series_ranges_cover_every_series_once_within_the_budget(
    per_block: list[tuple[int, int]], budget: int
) -> None:
    counted = [(np.array([sid]), np.array([n])) for sid, n in per_block]
    totals = Counter[int]()
    for sid, n in per_block:
        totals[sid] += n
    ranges = series_ranges(counted, budget)
    covered = [sid for sid in sorted(totals) for first, last in ranges if first <= sid <= last]
    assert covered == sorted(totals)  # every series in exactly one range, ranges in order
    for first, last in ranges:
        inside = [totals[s] for s in totals if first <= s <= last]
        assert sum(inside) <= budget or len(inside) == 1


def count_encoded(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the chunks compaction encodes (``["chunks"]``) from now on."""
    encoded = Counter[str]()
    real = compaction.encode_segments

    def counting(ts: np.ndarray, columns: list[np.ndarray], bounds: np.ndarray) -> list[bytes]:
        encoded["chunks"] += bounds.size - 1
        return real(ts, columns, bounds)

    monkeypatch.setattr(compaction, "encode_segments", counting)
    return encoded


def test_a_big_window_is_compacted_in_passes_each_chunk_encoded_once(
    make_store: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(ingest={"chunk_seconds": 7200})
    fill(store, T0_MS - 4 * HOUR, T0_MS - 2 * HOUR, hosts=20)  # one window, 20 series x 480, 120 blocks
    lb = labels_of(host="h3")
    store.write([Sample("m", lb, T0_MS - 3 * HOUR + 3, 999.0)])  # overwrites a sample of an earlier block
    before = everything(store)
    monkeypatch.setattr(compaction, "_MAX_SAMPLES", 500)
    monkeypatch.setattr(compaction, "_PASS_SAMPLES", 2_000)  # 9,600 samples: about 5 passes
    encoded = count_encoded(monkeypatch)
    passes = Counter[str]()
    real_begin = compaction.begin_locked

    @contextlib.contextmanager
    def counted(engine: sa.Engine, lock: object = None) -> Iterator[sa.Connection]:
        passes["transactions"] += 1
        with real_begin(engine, lock) as conn:  # type: ignore[arg-type]
            yield conn

    monkeypatch.setattr(compaction, "begin_locked", counted)
    assert store.compact() == 20
    assert encoded["chunks"] == 20  # one encode per chunk (was 20 per chunk: 480 x 20 / 500)
    assert 5 <= passes["transactions"] <= 7  # the passes, then the delete
    assert rows(store, head) == []
    assert everything(store).equals(before)
    assert 999.0 in everything(store)["value"].to_list()


def test_blocks_straddling_window_boundaries_are_split_not_merged_twice(
    make_store: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every scrape batch straddles a boundary (a batch spans 90 s across it): each chunk is still
    encoded once, late overwrites keep their value, and what stays past the cutoff stays in the head."""
    store = make_store(ingest={"chunk_seconds": 7200})
    rng = np.random.default_rng(2)
    start, end = T0_MS - 6 * HOUR - 45_000, T0_MS - HOUR
    for lo in range(start, end, 90_000):  # batches of 90 s, offset by 45 s from every boundary
        batch = [
            Sample("m", labels_of(host=f"h{h}"), t + h, round(float(rng.normal()), 2))
            for t in range(lo, min(lo + 90_000, end), 15_000)
            for h in range(12)
        ]
        store.write(batch)
    store.write([Sample("m", labels_of(host="h5"), T0_MS - 4 * HOUR + 5, 123.0)])  # an overwrite
    before = everything(store)
    monkeypatch.setattr(compaction, "_MAX_SAMPLES", 500)
    monkeypatch.setattr(compaction, "_PASS_SAMPLES", 2_000)
    encoded = count_encoded(monkeypatch)
    written = store.compact()  # cutoff T0 - 2 h: windows [T0-6h-2h.., T0-2h) in chunks
    assert written == encoded["chunks"] == 12 * 3  # the 45 s before T0 - 6 h, and two whole windows
    assert everything(store).equals(before)
    assert all(min_ts >= T0_MS - 2 * HOUR for _, min_ts, *_ in rows(store, head))
    stored = rows(store, chunks)
    assert (
        len(stored) == 12 * 3
        and sum(r[3] for r in stored) == before.filter(before["ts"].dt.epoch("ms") < T0_MS - 2 * HOUR).height
    )


def test_a_run_cut_short_between_passes_loses_and_doubles_nothing(
    make_store: Callable[..., Store], monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    store = make_store(ingest={"chunk_seconds": 7200})
    fill(store, T0_MS - 4 * HOUR, T0_MS - 2 * HOUR, hosts=10)
    before = everything(store)
    monkeypatch.setattr(compaction, "_PASS_SAMPLES", 1_000)
    calls = Counter[str]()
    real_begin = compaction.begin_locked

    @contextlib.contextmanager
    def dies_on_third(engine: sa.Engine, lock: object = None) -> Iterator[sa.Connection]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed between passes")
        with real_begin(engine, lock) as conn:  # type: ignore[arg-type]
            yield conn

    monkeypatch.setattr(compaction, "begin_locked", dies_on_third)
    with pytest.raises(RuntimeError):
        store.compact()
    assert len(rows(store, chunks)) == 4  # two passes of 2 series (960 samples) went in
    assert everything(store).equals(before)  # samples in a chunk and in the head read once
    late = [Sample("m", labels_of(host="h0"), T0_MS - 3 * HOUR + 7, -5.0)]  # in between, a late write
    store.write(late)
    monkeypatch.setattr(compaction, "begin_locked", real_begin)
    store.compact()
    after = everything(store)
    assert rows(store, head) == []
    assert after.height == before.height + 1
    assert -5.0 in after["value"].to_list()
    assert sum(n for *_, n, _ in rows(store, chunks)) == after.height
