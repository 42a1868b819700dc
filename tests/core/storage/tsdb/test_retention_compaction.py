"""Compaction (head blocks -> compressed chunks) and retention per resolution, with the fake clock."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from core.kernel.samples import Sample, labels_of
from core.storage.schema import chunks, head
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
CHUNK = 2 * HOUR  # the default chunk_seconds


def everything(store: Store, metric: str = "m") -> pl.DataFrame:
    return store.select(metric, 0, 2**62, step_ms=1, over_time="last", resolution="raw")


def rows(store: Store, t: sa.Table) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(t))]


def fill(store: Store, start: int, end: int, hosts: int = 5, step: int = 15_000, seed: int = 1) -> int:
    """Regular gauges with one decimal, written in batches of one minute (as a collector would)."""
    rng = np.random.default_rng(seed)
    ts = np.arange(start, end, step)
    written = 0
    for lo in range(start, end, MIN):
        part = ts[(ts >= lo) & (ts < lo + MIN)]
        batch = [
            Sample("m", labels_of(host=f"h{h}"), int(t) + h, round(float(rng.normal(50, 10)), 1))
            for t in part
            for h in range(hosts)
        ]
        res = store.write(batch)
        assert res.accepted == len(batch) and not res.rejected
        written += len(batch)
    return written


def test_compaction_round_trip_and_size(make_store: Callable[..., Store], clock: FakeClock) -> None:
    store = make_store(ingest={"chunk_seconds": 7200})  # the arithmetic below uses 2 h chunks
    n = fill(store, T0_MS - 6 * HOUR, T0_MS)
    before = everything(store)
    assert before.height == n
    assert store.compact() == 5 * 2  # chunks [T0-6h, T0-4h) and [T0-4h, T0-2h) of 5 series
    cutoff = T0_MS - 2 * HOUR  # now - 1 h window, aligned down to the 2 h chunk width
    assert everything(store).equals(before)
    assert all(min_ts >= cutoff for _, min_ts, *_ in rows(store, head))
    stored = rows(store, chunks)
    assert {(sid, start) for sid, start, *_ in stored} == {
        (sid, s) for sid in store.series("m")["id"] for s in (T0_MS - 6 * HOUR, T0_MS - 4 * HOUR)
    }
    samples = sum(r[3] for r in stored)
    assert samples == before.filter(pl.col("ts").dt.epoch("ms") < cutoff).height
    assert sum(len(r[4]) for r in stored) / samples < 2.0  # bytes per sample on disk, payload only
    assert store.compact() == 0 and everything(store).equals(before)  # nothing left to do

    clock.advance(2 * 3600)
    assert store.compact() == 5 and everything(store).equals(before)
    assert store.select("m", T0_MS - 6 * HOUR, T0_MS, step_ms=HOUR, over_time="count").equals(
        store.select("m", T0_MS - 6 * HOUR, T0_MS, step_ms=HOUR, over_time="count", resolution="raw")
    )


def test_late_samples_and_overwrites_merge_into_compacted_windows(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store(ingest={"chunk_seconds": 7200})  # the arithmetic below uses 2 h chunks
    lb = labels_of(host="a")
    store.write(
        [Sample("m", lb, T0_MS - 3 * HOUR + i * MIN, float(i)) for i in range(170)]
    )  # up to T0 - 10 min
    store.write([Sample("m", lb, T0_MS - 30 * MIN, -1.0)])
    clock.advance(3600)  # now T0 + 1 h: cutoff T0 (the window [T0-2h, T0) is compacted)
    store.compact()
    assert all(min_ts >= T0_MS for _, min_ts, *_ in rows(store, head))
    late = [Sample("m", lb, T0_MS - 70 * MIN + 30_000, 100.0), Sample("m", lb, T0_MS - 20 * MIN, 200.0)]
    res = store.write(late)  # head is T0 - 10 min: 1 h back reaches T0 - 70 min, in compacted windows
    assert res.accepted == 2
    expected = {T0_MS - 3 * HOUR + i * MIN: float(i) for i in range(170)} | {T0_MS - 30 * MIN: -1.0}
    expected |= {T0_MS - 70 * MIN + 30_000: 100.0, T0_MS - 20 * MIN: 200.0}

    def got() -> dict[int, float]:
        df = everything(store)
        return dict(zip(df["ts"].dt.epoch("ms"), df["value"], strict=True))

    assert got() == expected  # chunks merged with the late head block on read
    assert store.compact() == 1  # the late block is merged into the existing chunk
    assert got() == expected and rows(store, head) == []
    assert len(rows(store, chunks)) == 2


def test_heads_come_from_chunks_after_reopening(make_store: Callable[..., Store], clock: FakeClock) -> None:
    store = make_store()
    lb = labels_of(host="a")
    store.write([Sample("m", lb, T0_MS - 3 * HOUR, 1.0), Sample("m", lb, T0_MS - 2 * HOUR - MIN, 2.0)])
    clock.advance(3600)
    store.compact()
    assert rows(store, head) == []
    store.close()
    reopened = make_store()
    res = reopened.write(
        [Sample("m", lb, T0_MS - 3 * HOUR - MIN - 1, 3.0), Sample("m", lb, T0_MS - 3 * HOUR + MIN, 4.0)]
    )
    assert res.accepted == 1 and res.rejected["too_old"] == 1


def test_compaction_keeps_the_last_write_of_a_block_it_splits(store: Store) -> None:
    lb = labels_of(host="a")
    straddling = [Sample("m", lb, T0_MS - 2 * HOUR - MIN, 1.0), Sample("m", lb, T0_MS - 2 * HOUR + MIN, 1.0)]
    assert store.write(straddling).accepted == 2
    assert store.write([Sample("m", lb, T0_MS - 2 * HOUR + MIN, 2.0)]).accepted == 1  # overwrite
    before = everything(store)
    assert before["value"].to_list() == [1.0, 2.0]
    store.compact()  # cutoff T0 - 2 h splits the first block
    assert everything(store).equals(before)


# -- retention -----------------------------------------------------------------------

AGES = (1, 10, 30, 90)  # days
RETENTION = {"raw_days": 2, "minute_days": 20, "hour_days": 60}


def ages_in(store: Store, resolution: str) -> set[int]:
    df = store.select(
        "m",
        T0_MS - 200 * DAY,
        T0_MS + DAY,
        step_ms=DAY,
        over_time="count",
        resolution=resolution,  # type: ignore[arg-type]
    )
    return {round((T0_MS - t) / DAY) for t in df["ts"].dt.epoch("ms")}


@pytest.mark.parametrize("compacted", [False, True], ids=["head", "chunks"])
def test_retention_per_resolution(
    make_store: Callable[..., Store], clock: FakeClock, compacted: bool
) -> None:
    store = make_store(retention=RETENTION)
    for age in sorted(AGES, reverse=True):  # oldest first, one head block per age
        at = T0_MS - age * DAY
        store.write(
            [Sample("m", labels_of(host=h), at + i * 20_000, float(i)) for h in "ab" for i in range(6)]
        )
    store.run_rollups()
    if compacted:
        store.compact()
        assert rows(store, head) == []
    assert ages_in(store, "raw") == ages_in(store, "1m") == ages_in(store, "1h") == set(AGES)

    deleted = store.apply_retention()
    raw_rows = "chunks" if compacted else "head"
    assert deleted[raw_rows] == (6 if compacted else 3)  # 3 ages x (2 series | 1 block)
    if compacted:  # rollup rows were packed into chunks: one per series, resolution and span
        assert deleted["rollup_chunks"] == 2 * 2 + 1 * 2  # 1 m: 2 ages x 2 series; 1 h: 1 age x 2
    else:
        assert deleted["rollup_1m"] == 2 * 2 * 2  # 2 ages x 2 series x 2 minutes
        assert deleted["rollup_1h"] == 1 * 2
    assert ages_in(store, "raw") == {1}
    assert ages_in(store, "1m") == {1, 10}
    assert ages_in(store, "1h") == {1, 10, 30}

    clock.advance(5 * DAY / 1000)  # the fake clock moves retention along
    store.apply_retention()
    assert ages_in(store, "raw") == set()
    assert ages_in(store, "1m") == {1, 10}  # now 6 and 15 days old
    assert ages_in(store, "1h") == {1, 10, 30}
    assert set(store.apply_retention().values()) == {0}


def test_old_samples_of_a_mixed_block_go_once_compacted(make_store: Callable[..., Store]) -> None:
    store = make_store(retention=RETENTION)
    lb = labels_of(host="a")
    store.write([Sample("m", lb, T0_MS - 10 * DAY, 1.0), Sample("m", lb, T0_MS - MIN, 2.0)])  # one block
    store.apply_retention()
    assert everything(store).height == 2  # a block is deleted as a whole, by its newest sample
    store.compact()
    store.apply_retention()
    assert everything(store)["value"].to_list() == [2.0]
