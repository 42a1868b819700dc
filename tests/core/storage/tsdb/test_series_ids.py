"""Reads keyed by series id (``series_ids=True``) equal the labelled reads once the labels from
``series()`` are attached; reads of only the rollup columns an aggregation needs equal full reads;
the hour rollups are packed a day at a time. Raw samples, rollup rows, packed chunks and rollups
computed on the fly from dirty minutes, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from core.kernel.errors import QueryError
from core.kernel.samples import Sample, labels_of
from core.storage.schema import ROLLUPS, rollup_1h
from core.storage.tsdb.chunks import decode_tables, encode_table
from core.storage.tsdb.query import Query
from core.storage.tsdb.read import read_rollup
from core.storage.tsdb.rollup import read_rollup_current
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock

DAY, HOUR, MIN = 86_400_000, 3_600_000, 60_000
START = T0_MS - T0_MS % (7 * DAY) - 7 * DAY  # a week boundary: the hour chunk's span
END = START + 4 * DAY + 5 * HOUR  # into the fifth day: a partly filled week and day
GAUGES = ("avg", "max", "count", "min", "last", "sum", "quantile")


def _write(store: Store, end: int = END, begin: int = START) -> None:
    rng = np.random.default_rng(3)
    batch = []
    for k, (h, t) in enumerate([("a", "x"), ("b", "x"), ("c", "y"), ("d", "")]):
        lb = labels_of(host=h, team=t) if t else labels_of(host=h)
        total = 0.0
        for ts in range(begin, end, 7 * MIN):
            if h == "c" and START + DAY <= ts < START + 2 * DAY:
                continue  # a gap of a day
            batch.append(Sample("g", lb, ts, round(float(rng.uniform(0, 3)) + k, 3)))
            total = 0.0 if rng.random() < 0.01 else total + float(rng.integers(0, 5))  # resets
            batch.append(Sample("c_total", lb, ts, total))
    store.write(batch)


def _labelled(store: Store, metric: str, by_id: pl.DataFrame) -> pl.DataFrame:
    """The labelled result rebuilt from the series-id result and ``series()``."""
    found = store.series(metric)
    labels = pl.DataFrame(
        [{"series_id": i, **lb} for i, lb in zip(found["id"], found["labels"], strict=True)],
        infer_schema_length=None,
    )
    return by_id.join(labels, on="series_id", how="left").drop("series_id")


def _check(store: Store, step: int, resolution: str) -> None:
    kw = {"step_ms": step, "resolution": resolution}
    for metric, over, more in (
        ("g", "avg", GAUGES[1:]),
        ("g", "max", ("count",)),
        ("c_total", "increase", ()),
    ):
        for sel in (metric, f'{metric}{{team="x"}}'):
            plain = store.select(sel, START + 5 * MIN, END, over_time=over, also_over_time=more, **kw)
            ids = store.select(
                sel, START + 5 * MIN, END, over_time=over, also_over_time=more, series_ids=True, **kw
            )
            assert ids.columns == ["ts", "value", *more, "series_id"] and ids.height == plain.height > 0
            assert ids.equals(ids.sort("series_id", "ts")), (resolution, over)
            again = _labelled(store, metric, ids).select(plain.columns).sort(plain.columns)
            assert again.equals(plain.sort(plain.columns)), (resolution, over, sel)
            q = Query.parse(sel, START + 5 * MIN, END, over_time=over, also_over_time=more, **kw)  # type: ignore[arg-type]
            qi = Query.parse(
                sel, START + 5 * MIN, END, over_time=over, also_over_time=more, series_ids=True, **kw
            )  # type: ignore[arg-type]
            both = store.query_many([q, qi])  # one plan each: one with labels, one without
            assert both[0].equals(plain) and both[1].equals(ids)


def test_series_id_reads_equal_labelled_reads(make_store: Callable[..., Store], clock: FakeClock) -> None:
    store = make_store()
    _write(store)
    clock.now = END / 1000
    _check(store, 15 * MIN, "raw")
    _check(store, HOUR, "1h")  # computed from raw on the fly: every minute is dirty
    store.run_rollups()
    _check(store, HOUR, "1h")  # rollup rows
    _check(store, 30 * MIN, "1m")
    clock.now = (END + 2 * HOUR) / 1000
    store.compact()  # the whole days packed, the last hours stay rows
    _check(store, HOUR, "1h")
    _check(store, 2 * HOUR, "1m")
    missing = store.select("nothing", START, END, also_over_time=("max",), series_ids=True)
    assert missing.columns == ["ts", "value", "max", "series_id"] and missing.is_empty()
    assert store.select("nothing", START, END, also_over_time=("max",)).columns == ["ts", "value", "max"]
    with pytest.raises(QueryError, match="series_ids"):
        store.select("g", START, END, across="sum", series_ids=True)


def _rollup_reads(store: Store, width: int, start: int, end: int) -> None:
    """Every choice of columns reads what the full read has in them."""
    ids = store.series("g")["id"].to_list() + store.series("c_total")["id"].to_list()
    with store.engine.connect() as conn:
        full = read_rollup_current(conn, width, ids, start, end)
        assert full.height > 0
        for cols in (["last"], ["sum", "count"], ["max"], ["min", "last"], ["count"]):
            part = read_rollup_current(conn, width, ids, start, end, cols)
            assert part.equals(full.select("series_id", "ts", *cols)), (width, cols)
            stored = read_rollup(conn, ROLLUPS[width], ids, start, end, cols)
            assert stored.equals(read_rollup(conn, ROLLUPS[width], ids, start, end).select(stored.columns))


def test_rollup_column_reads_equal_full_reads(make_store: Callable[..., Store], clock: FakeClock) -> None:
    store = make_store()
    _write(store)
    clock.now = END / 1000
    _rollup_reads(store, HOUR, START + 90 * MIN, END)  # dirty: from raw on the fly
    store.run_rollups()
    for width in (MIN, HOUR):
        _rollup_reads(store, width, START + 90 * MIN, END)
    clock.now = (END + 2 * HOUR) / 1000
    store.compact()
    for width in (MIN, HOUR):
        _rollup_reads(store, width, START + 90 * MIN, END)  # chunks and rows
        _rollup_reads(store, width, START + 3 * DAY + 30 * MIN, END - HOUR)


def rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(rollup_1h)).scalar_one())


def test_hour_rollups_are_packed_a_day_at_a_time(make_store: Callable[..., Store], clock: FakeClock) -> None:
    """The fifth day of a week is stable: its hours go into the week's chunk, read back the same."""
    store = make_store()
    _write(store, START + 5 * DAY)
    store.run_rollups()
    clock.now = (START + 5 * DAY) / 1000
    before = store.select("g", START, START + 5 * DAY, step_ms=HOUR, also_over_time=("max", "count", "last"))
    clock.now = (START + 6 * DAY) / 1000  # the out-of-order window and an hour have passed
    store.compact()
    assert rows(store) == 0  # not five days of rows waiting for the week to end
    after = store.select("g", START, START + 5 * DAY, step_ms=HOUR, also_over_time=("max", "count", "last"))
    assert after.equals(before)
    _write(store, START + 6 * DAY, START + 5 * DAY)  # the sixth day: merged into the same chunk
    store.run_rollups()
    clock.now = (START + 7 * DAY) / 1000
    store.compact()
    again = store.select("g", START, START + 5 * DAY, step_ms=HOUR, also_over_time=("max", "count", "last"))
    assert again.equals(before) and rows(store) == 0


def test_decode_tables_keeps_the_columns_asked_for() -> None:
    rng = np.random.default_rng(5)
    blobs, cols = [], []
    for n in (3, 3, 7, 0, 3):
        ts = np.sort(rng.choice(10_000, n, replace=False)).astype(np.int64) * 1000
        table = [rng.normal(size=n), np.round(rng.uniform(0, 9, n), 2), np.arange(n, dtype=np.float64)]
        blobs.append(encode_table(ts, table))
        cols.append(table)
    counts, ts_all, full = decode_tables(blobs, 3)
    for keep in ([2], [0, 2], [1], [2, 0]):
        counts_k, ts_k, part = decode_tables(blobs, 3, keep)
        assert np.array_equal(counts_k, counts) and np.array_equal(ts_k, ts_all)
        assert all(np.array_equal(p, full[j]) for p, j in zip(part, keep, strict=True))
