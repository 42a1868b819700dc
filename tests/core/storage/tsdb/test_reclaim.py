"""Free pages left by compaction are given back to the file system (SQLite, new databases)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.storage.reclaim import reclaim
from core.storage.tsdb import open_store
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock

HOUR = 3_600_000


def _fill(store: Store) -> None:
    """12 hours of 50 series in head blocks, each hour written 4 times over (a source re-sending
    within the out-of-order window; the last write wins); compaction moves the whole 6 h chunk
    spans to chunks, one copy. Random floats, which zstd hardly shrinks: the pages compaction
    frees are well over what reclaim() waits for."""
    rng = np.random.default_rng(7)
    for h in range(12):
        start = T0_MS - 13 * HOUR + h * HOUR
        for _ in range(4):
            values = rng.random((50, 240)).tolist()
            store.write(
                [
                    Sample("m", labels_of(host=f"h{i}"), start + k * 15_000, values[i][k])
                    for i in range(50)
                    for k in range(240)
                ]
            )


def _file(store: Store, path: Path) -> tuple[int, int]:
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar_one())
    return os.path.getsize(path), free


def _everything(store: Store) -> list[tuple[object, ...]]:
    return store.select("m", 0, 2**62, step_ms=1, over_time="last", resolution="raw").rows()


def test_compaction_gives_the_freed_pages_back(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "pulse.db"
    store = open_store(load_settings(database_url=f"sqlite:///{path}"), clock=clock)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA auto_vacuum").scalar_one() == 2  # incremental, from creation
    _fill(store)
    before, _ = _file(store, path)
    rows = _everything(store)
    store.compact()
    after, free = _file(store, path)
    assert free == 0 and after < before * 0.75  # the freed head pages are not kept in the file
    assert _everything(store) == rows
    store.close()


def test_a_database_without_auto_vacuum_is_left_as_it_is(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "pulse.db"
    sqlite3.connect(path).execute("CREATE TABLE made_before (x)").connection.close()  # an older file
    store = open_store(load_settings(database_url=f"sqlite:///{path}"), clock=clock)
    _fill(store)
    store.compact()
    size, free = _file(store, path)
    assert free > 0  # kept for later writes, as before; VACUUM would convert the file
    assert reclaim(store.engine) == 0
    store.close()


def test_small_free_space_is_kept_for_the_next_writes(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.write([Sample("m", labels_of(host="a"), T0_MS - 5 * HOUR + k * 15_000, 1.0) for k in range(100)])
    store.compact()
    assert reclaim(store.engine) == 0  # under 1 MiB free (and PostgreSQL: autovacuum's business)


@pytest.mark.postgres
def test_on_postgresql_head_space_is_reused_after_each_compaction(pg_schema_url: str) -> None:
    """A backfill writes a day at a time and compacts: without a VACUUM of the head table between
    days, every day's head rows stayed as dead TOAST space (84 MB after 30 days of 100 series)."""
    clock = FakeClock()
    store = open_store(load_settings(database_url=pg_schema_url), clock=clock)
    rng = np.random.default_rng(5)
    sizes = []
    for day in range(4):
        start = T0_MS - (5 - day) * 24 * HOUR
        ts = np.arange(start, start + 24 * HOUR, 60_000)
        values = rng.random((20, ts.size)).tolist()
        store.write(
            [
                Sample("m", labels_of(host=f"h{i}"), int(t), values[i][k])
                for i in range(20)
                for k, t in enumerate(ts)
            ]
        )
        store.compact()
        with store.engine.connect() as conn:
            sizes.append(int(conn.exec_driver_sql("SELECT pg_total_relation_size('head')").scalar_one()))
    store.close()
    assert sizes[-1] <= sizes[0] * 1.5, sizes  # the first day's space serves the later ones
