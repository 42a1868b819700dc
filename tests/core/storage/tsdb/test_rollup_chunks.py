"""Older rollup rows are packed into compressed chunks; reads and late recomputations stay exact."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from core.kernel.samples import Sample, labels_of
from core.storage.schema import rollup_1m, rollup_chunks
from core.storage.tsdb.chunks import encode_table
from core.storage.tsdb.rollup_chunks import VALUES, decode_many
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock

DAY, HOUR, MIN = 86_400_000, 3_600_000, 60_000


def count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def reads(store: Store, start: int, end: int) -> dict[str, pl.DataFrame]:
    return {
        res: store.select(
            "m", start, end, step_ms=MIN if res == "1m" else HOUR, over_time=agg, resolution=res
        )
        for res in ("1m", "1h")
        for agg in ("avg",)
    } | {
        f"{res}-{agg}": store.select("m", start, end, step_ms=HOUR, over_time=agg, resolution=res)
        for res in ("1m", "1h")
        for agg in ("min", "max", "sum", "count", "last")
    }


def test_packed_rollups_read_back_identically_and_late_rows_merge(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    start = T0_MS - T0_MS % DAY - 3 * DAY
    samples = [
        Sample("m", labels_of(host=h), t, round(1.5 + (t // MIN % 37) / 10 + (h == "b"), 2))
        for t in range(start, start + 3 * DAY, 5 * MIN)
        for h in "ab"
    ]
    store.write(samples)
    store.run_rollups()
    before = reads(store, start, start + 3 * DAY)
    clock.now = (start + 5 * DAY) / 1000
    store.compact()

    assert store.last_rollup_chunks > 0 and count(store, rollup_chunks) == store.last_rollup_chunks
    assert count(store, rollup_1m) == 0  # every minute row of the three days is packed
    after = reads(store, start, start + 3 * DAY)
    for key, frame in before.items():
        assert frame.equals(after[key]), key

    # a new series with samples inside a packed day: its hour is recomputed as rows, merged on read
    late = [Sample("m", labels_of(host="c"), start + DAY + i * MIN, 7.0) for i in range(3)]
    assert store.write(late).accepted == 3
    store.run_rollups()
    assert count(store, rollup_1m) > 0
    merged = store.select("m", start, start + 3 * DAY, step_ms=DAY, over_time="count", resolution="1m")
    totals = dict(merged.group_by("host").agg(pl.col("value").sum()).iter_rows())
    assert totals == {"a": 3 * 288, "b": 3 * 288, "c": 3}
    store.compact()
    assert count(store, rollup_1m) == 0
    again = store.select("m", start, start + 3 * DAY, step_ms=DAY, over_time="count", resolution="1m")
    assert again.sort(again.columns).equals(merged.sort(merged.columns))


def test_rollups_of_old_hours_are_packed_directly_and_equal_raw(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    """compact() packs freshly computed old rollups straight into chunks (the backfill path)."""
    store = make_store()
    start = T0_MS - T0_MS % DAY - 2 * DAY
    samples = [
        Sample("m", labels_of(host=h), t, float(t // MIN % 11 + (h == "b")))
        for t in range(start, start + 2 * DAY, 2 * MIN)
        for h in "ab"
    ]
    store.write(samples)  # no run_rollups: every minute is still dirty
    clock.now = (start + 4 * DAY) / 1000
    store.compact()
    assert count(store, rollup_1m) == 0 and count(store, rollup_chunks) > 0
    for agg in ("avg", "min", "max", "sum", "count", "last"):
        for step, res in ((MIN, "1m"), (HOUR, "1h")):
            raw = store.select("m", start, start + 2 * DAY, step_ms=step, over_time=agg, resolution="raw")
            rolled = store.select("m", start, start + 2 * DAY, step_ms=step, over_time=agg, resolution=res)
            assert raw.equals(rolled), (agg, res)


def test_a_late_sample_packed_with_its_day_keeps_the_day_s_other_minute_rows(
    store: Store, clock: FakeClock
) -> None:
    """compact() packs a recomputed hour straight into its day's chunk: the rows of that day's
    other hours, still in the row table, go into the chunk too (they were lost before)."""
    lo = T0_MS - 6 * HOUR
    store.write([Sample("m", labels_of(host=h), t, 1.0) for h in "abc" for t in range(lo, T0_MS, 5000)])
    store.run_rollups()
    store.write([Sample("m", labels_of(host="a"), T0_MS - 20 * MIN + 7, 1e6)])  # late: its hour dirty
    clock.advance(2 * 86_400)
    store.compact()
    got = store.select("m", lo, T0_MS, step_ms=MIN, over_time="count", resolution="1m")
    assert got.height == 3 * 360 and set(got["value"].to_list()) == {12.0, 13.0}


def test_chunks_packed_before_first_was_kept_read_as_not_known_and_merge_with_new_rows() -> None:
    """A rollup chunk of five columns (packed before 2026-12-05) decodes with first, first_ts and
    last_ts NaN ("not known"), also beside eight-column chunks; a chunk
    with more columns than the reader knows is refused."""
    ts = np.array([T0_MS, T0_MS + 60_000], np.int64)
    five = [
        np.array([1.0, 2.0]),
        np.array([3.0, 4.0]),
        np.array([5.0, 6.0]),
        np.array([2.0, 2.0]),
        np.array([7.0, 8.0]),
    ]
    old = encode_table(ts, five)
    new = encode_table(ts, [*five, np.array([0.5, 0.25]), ts.astype(np.float64), ts.astype(np.float64)])
    frame = decode_many([(1, old), (2, new)])
    assert frame.columns == ["series_id", "ts", *VALUES]
    firsts = frame["first"].to_list()
    assert math.isnan(firsts[0]) and math.isnan(firsts[1]) and firsts[2:] == [0.5, 0.25]
    assert frame["first_ts"].to_list()[2:] == [float(T0_MS), float(T0_MS + 60_000)]
    assert frame["last"].to_list() == [7.0, 8.0, 7.0, 8.0]
    assert math.isnan(frame["last_ts"].to_list()[0]) and frame["last_ts"].to_list()[3] == T0_MS + 60_000
    with pytest.raises(ValueError, match="chunk has 9 columns, expected at most 8"):
        decode_many([(3, encode_table(ts, [*five, *five[:4]]))])
