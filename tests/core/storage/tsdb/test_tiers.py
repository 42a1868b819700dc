"""The 1 m rollup tier only for series whose minutes hold enough samples (core/storage/tsdb/tiers.py).

A 15 s series gets hour rollups only, a 1 s series keeps its minute rollups; reads at 1 m give the
same answers either way: the same samples are written under two metrics, ``a`` forced to keep
the tier and ``b`` measured (15 s: no tier), and every read of one must equal the other's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import sqlalchemy as sa

from core.kernel.samples import Sample, labels_of
from core.promql import Engine, StoreSource
from core.storage.schema import rollup_1h, rollup_1m, rollup_chunks, series
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
HOSTS = ("x", "y")


def ids(store: Store, metric: str) -> list[int]:
    return sorted(store.series(metric)["id"].to_list())


def minute_rows(store: Store, sids: list[int]) -> int:
    """1 m rollup rows of these series, in the row table and packed in chunks."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(sa.func.count()).select_from(rollup_1m).where(rollup_1m.c.series_id.in_(sids))
        ).scalar_one()
        rc = rollup_chunks.c
        q = sa.select(sa.func.coalesce(sa.func.sum(rc.n), 0)).where(
            rc.resolution == MIN, rc.series_id.in_(sids)
        )
        return int(rows) + int(conn.execute(q).scalar_one())


def hour_rows(store: Store, sids: list[int]) -> int:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(sa.func.count()).select_from(rollup_1h).where(rollup_1h.c.series_id.in_(sids))
        ).scalar_one()
        rc = rollup_chunks.c
        q = sa.select(sa.func.coalesce(sa.func.sum(rc.n), 0)).where(
            rc.resolution == HOUR, rc.series_id.in_(sids)
        )
        return int(rows) + int(conn.execute(q).scalar_one())


def last_minute_row(store: Store, sids: list[int]) -> int:
    """The newest bucket of these series' 1 m rows (row table or chunks), -1 if none."""
    rc = rollup_chunks.c
    with store.engine.connect() as conn:
        rows = sa.select(sa.func.max(rollup_1m.c.ts)).where(rollup_1m.c.series_id.in_(sids))
        packed = sa.select(sa.func.max(rc.end_ts)).where(rc.resolution == MIN, rc.series_id.in_(sids))
        found = [conn.execute(q).scalar() for q in (rows, packed)]
    return max([-1, *[int(v) for v in found if v is not None]])


def interval_of(store: Store, sids: list[int]) -> list[int | None]:
    with store.engine.connect() as conn:
        q = sa.select(series.c.interval_ms).where(series.c.id.in_(sids)).order_by(series.c.id)
        return list(conn.execute(q).scalars())


def force_tier(store: Store, metric: str) -> None:
    """Record a 1 s interval for the metric's series (before any rollup run measures them)."""
    with store.engine.begin() as conn:
        conn.execute(sa.update(series).where(series.c.metric == metric).values(interval_ms=1000))


def write_both(store: Store, points: list[tuple[str, int, float]]) -> None:
    for metric in ("a", "b"):
        batch = [Sample(metric, labels_of(host=h), t, v) for h, t, v in points]
        res = store.write(batch)
        assert res.accepted == len(batch), res


def regular(lo: int, hi: int, every: int, rng: np.random.Generator) -> list[tuple[str, int, float]]:
    out = []
    for i, h in enumerate(HOSTS):
        ts = np.arange(lo + i * 1000, hi, every)
        vals = np.cumsum(rng.integers(0, 5, ts.size)).astype(float)  # counters: rate and increase too
        out += [(h, int(t), float(v)) for t, v in zip(ts, vals, strict=True)]
    return sorted(out, key=lambda p: p[1])


def assert_same_reads(store: Store, start: int, end: int) -> None:
    """Query at 1 m steps (and 5 m on the 1 m tier), rollup_series at 1 m, and PromQL, a == b."""
    for over in ("avg", "min", "max", "sum", "count", "last", "rate", "increase", "quantile"):
        for step in (MIN, 5 * MIN):
            kw = {"step_ms": step, "over_time": over, "resolution": "1m"}
            a, b = store.select("a", start, end, **kw), store.select("b", start, end, **kw)
            assert a.equals(b), (over, step)
            a, b = (store.select(m, start, end, across="sum", **kw) for m in ("a", "b"))
            assert a.equals(b), (over, step, "across")
    kw = {"step_ms": MIN, "over_time": "avg", "also_over_time": ("min", "max", "count"), "resolution": "1m"}
    assert store.select("a", start, end, **kw).equals(store.select("b", start, end, **kw))
    auto = {"step_ms": 2 * MIN}
    assert store.select("a", start, end, **auto).equals(store.select("b", start, end, **auto))
    ra, rb = (store.rollup_series(MIN, ids(store, m), start, end) for m in ("a", "b"))
    assert len(ra) == len(rb)
    for (_, xa), (_, xb) in zip(sorted(ra.items()), sorted(rb.items()), strict=True):
        for ca, cb in zip(xa, xb, strict=True):
            np.testing.assert_array_equal(ca, cb)
    engine = Engine(StoreSource(store))
    for fn in ("avg_over_time", "count_over_time", "max_over_time"):
        win, w = ("1d", DAY) if end - start > DAY else ("1h", HOUR)
        ma, mb = (engine.range(f"{fn}({m}[{win}])", start + w, end, HOUR) for m in ("a", "b"))
        assert [x.labels for x in ma.series] == [y.labels for y in mb.series], fn
        for x, y in zip(ma.series, mb.series, strict=True):
            np.testing.assert_array_equal(x.ts, y.ts)
            np.testing.assert_array_equal(x.values, y.values)  # NaN equal to NaN


def test_a_15s_series_writes_no_minute_rows_and_a_1s_series_does(store: Store, clock: FakeClock) -> None:
    rng = np.random.default_rng(1)
    for metric, every in (("fast", 1000), ("slow", 15_000)):
        pts = regular(T0_MS - 3 * HOUR, T0_MS, every, rng)
        store.write([Sample(metric, labels_of(host=h), t, v) for h, t, v in pts])
    clock.advance(2 * 86_400)
    store.compact()  # rollups, then everything packed
    fast, slow = ids(store, "fast"), ids(store, "slow")
    assert interval_of(store, fast) == [1000, 1000] and interval_of(store, slow) == [15_000, 15_000]
    assert minute_rows(store, fast) == 2 * 180
    assert minute_rows(store, slow) == 0
    assert hour_rows(store, fast) == hour_rows(store, slow) == 2 * 3


def test_minute_reads_are_the_same_with_and_without_the_tier(store: Store, clock: FakeClock) -> None:
    rng = np.random.default_rng(2)
    lo = T0_MS - 6 * HOUR
    pts = regular(lo, T0_MS, 15_000, rng)
    first = [p for p in pts if p[1] < lo + 40_000]  # too few samples to measure an interval
    write_both(store, first)
    force_tier(store, "a")
    store.run_rollups()
    assert interval_of(store, ids(store, "b")) == [None, None]
    assert minute_rows(store, ids(store, "b")) > 0  # rows written before the interval is known
    write_both(store, [p for p in pts if p[1] >= lo + 40_000])
    assert_same_reads(store, lo - HOUR, T0_MS)  # everything dirty: computed from raw
    store.run_rollups()
    assert interval_of(store, ids(store, "b")) == [15_000, 15_000]
    assert minute_rows(store, ids(store, "b")) == 0  # the recomputed hour dropped them
    assert minute_rows(store, ids(store, "a")) == 2 * 360
    assert_same_reads(store, lo - HOUR, T0_MS)
    write_both(store, [("x", T0_MS - 20 * MIN + 7, 1e6), ("y", T0_MS - 30 * MIN, float("nan"))])  # late
    assert_same_reads(store, lo, T0_MS)  # the late hour dirty
    clock.advance(2 * 86_400)
    store.compact()
    assert_same_reads(store, lo, T0_MS + MIN)
    assert_same_reads(store, lo + 7 * MIN + 13, T0_MS - 17_000)  # unaligned range


@pytest.mark.parametrize("upgraded", [False, True], ids=["measured", "rows-from-before"])
def test_minutes_older_than_the_raw_retention_stay_readable(
    make_store: Callable[..., Store], clock: FakeClock, upgraded: bool
) -> None:
    """Retention writes b's minute rows from the raw samples it drops (or keeps the rows b had
    from before it was measured, dropping those that the raw samples left still cover)."""
    store = make_store(retention={"raw_days": 1, "minute_days": 2, "hour_days": 30})
    rng = np.random.default_rng(3)
    lo = T0_MS - 3 * DAY
    pts = regular(lo, T0_MS, 15_000, rng)
    for i in range(0, len(pts), 20_000):
        write_both(store, pts[i : i + 20_000])
        if i == 0:
            force_tier(store, "a")
            if upgraded:  # as stores before this version: every series with the tier
                force_tier(store, "b")
    clock.advance(2 * 3600 + 7)
    store.compact()
    b = ids(store, "b")
    assert minute_rows(store, b) == (2 * 3 * DAY // MIN if upgraded else 0)
    if upgraded:
        with store.engine.begin() as conn:  # then b measured: its rows so far stay, and win
            conn.execute(sa.update(series).where(series.c.id.in_(b)).values(interval_ms=15_000))
    assert_same_reads(store, lo, T0_MS)
    store.apply_retention()
    raw_cut = clock.ms - DAY
    assert int(store.raw(b, 0, T0_MS)["ts"].min()) >= raw_cut  # raw samples before it are gone
    assert 0 < minute_rows(store, b) <= 2 * (DAY // MIN + 1)  # rows kept from them: a day's worth
    assert last_minute_row(store, b) < raw_cut
    assert_same_reads(store, lo, T0_MS)
    store.apply_retention()  # again: rows already kept are not rewritten from what is left
    assert_same_reads(store, lo, T0_MS)
    clock.advance(3 * 3600)
    store.apply_retention()
    assert_same_reads(store, lo, T0_MS)
