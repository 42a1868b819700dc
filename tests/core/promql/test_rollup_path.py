"""The rollup path of ``min/max/sum/count/avg_over_time`` gives what the raw path gives.

Random series (gaps, samples exactly on window edges and bucket boundaries, NaN and huge values,
stale markers) and random windows, steps and offsets: a source with rollups against the same
source without; then a real Store with compacted chunks and rollups, StoreSource with rollups
against without, checking the rollup path was taken.
"""

from __future__ import annotations

import math
import tempfile

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.promql import Engine, MemorySource, StoreSource
from core.promql.result import Matrix
from core.promql.rollup_windows import HOUR, bucket_width, raw_intervals
from core.storage.tsdb.store import open_store
from tests.conftest import FakeClock

MIN = 60_000
STALE = float(np.uint64(0x7FF0000000000002).view(np.float64))
FUNCTIONS = ("min_over_time", "max_over_time", "sum_over_time", "count_over_time", "avg_over_time")


def same(a: Matrix, b: Matrix, exact: bool) -> None:
    assert [s.labels for s in a.series] == [s.labels for s in b.series]
    for x, y in zip(a.series, b.series, strict=True):
        assert np.array_equal(x.ts, y.ts), x.labels
        for u, v in zip(x.values.tolist(), y.values.tolist(), strict=True):
            if exact or not (math.isfinite(u) and math.isfinite(v)):
                assert u == v or (math.isnan(u) and math.isnan(v)), (x.labels, u, v)
            else:
                assert math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9), (x.labels, u, v)


values = st.one_of(
    st.integers(-1000, 1000).map(float),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, STALE]),
)


@st.composite
def series(draw: st.DrawFn) -> list[tuple[int, float]]:
    """Samples on a 15 s grid (so on edges and bucket starts) or off it, with gaps."""
    n = draw(st.integers(0, 300))
    t, out = 0, []
    for _ in range(n):
        t += draw(st.sampled_from([15_000, 15_000, 15_000, 30_000, 7 * MIN, 1, 59_999]))
        out.append((t, draw(values)))
    return out


# found by hypothesis: bucket sums overflow in another order than the samples (-inf, not NaN)
_OVERFLOW_ORDER = [
    [(15_000, 0.0), (30_000, math.inf), (45_000, 1e308), (60_000, 1e308)]
    + [(t, 0.0) for t in range(75_000, 405_000, 15_000)]
    + [(405_000, -math.inf)]
]


@example(_OVERFLOW_ORDER, "sum_over_time", 10, 0, 15_000, 0, "")
@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(series(), min_size=1, max_size=3),
    fn=st.sampled_from(FUNCTIONS),
    range_min=st.sampled_from([10, 11, 17, 30, 60]),
    range_extra=st.sampled_from([0, 1, 15_000, 29_999]),
    step=st.sampled_from([15_000, 60_000, 7 * MIN + 5, 20 * MIN]),
    start=st.integers(0, 40 * MIN),
    offset=st.sampled_from(["", " offset 1m", " offset 90s"]),
)
def test_rollups_equal_raw_in_memory(
    data: list[list[tuple[int, float]]],
    fn: str,
    range_min: int,
    range_extra: int,
    step: int,
    start: int,
    offset: str,
) -> None:
    sources = MemorySource(rollups=False), MemorySource(rollups=True)
    for i, samples in enumerate(data):
        for t, v in samples:
            for src in sources:
                src.add({"__name__": "m", "i": str(i)}, t, v)
    rng = range_min * MIN + range_extra
    query = f"{fn}(m[{rng}ms]{offset})"
    raw, rolled = (Engine(s).range(query, start, start + 120 * MIN, step) for s in sources)
    same(raw, rolled, exact=fn in ("min_over_time", "max_over_time", "count_over_time"))


def test_intervals_cover_only_the_partial_buckets() -> None:
    """A window ending at a bucket start needs no raw sample at its right edge (the bucket's
    first sample answers it): only the partial buckets of the unaligned step remain."""
    ends = np.array([60 * MIN, 120 * MIN, 150 * MIN + 30_000])
    assert raw_intervals(ends, 30 * MIN, MIN) == [
        (120 * MIN + 30_000, 121 * MIN - 1),
        (150 * MIN, 150 * MIN + 30_000),
    ]
    assert raw_intervals(ends[:2], 60 * MIN, HOUR) == []  # whole hours at whole hours: rollups alone
    assert bucket_width(60 * MIN, ends[:2]) == HOUR and bucket_width(60 * MIN, ends) == MIN


def fill_on_a_grid(
    rng: np.random.Generator, sources: tuple[MemorySource, ...], with_stale: bool = False
) -> None:
    """Three series ``m{i=...}`` over 12 h on a 1, 3 or 10 minute grid (so on whole hours), with
    gaps (some over whole hours), a fifth of the samples moved off the grid, NaN and Inf among
    the values, and with ``with_stale`` a stale marker in the second series."""
    for i in range(3):
        grid = np.arange(0, 12 * HOUR, int(rng.choice([60_000, 180_000, 600_000])))
        ts = grid[rng.random(grid.size) < rng.uniform(0.2, 1.0)]
        ts = np.unique(ts + np.where(rng.random(ts.size) < 0.2, rng.integers(-90_000, 90_000, ts.size), 0))
        values = rng.choice([1.0, 2.5, -3.0, math.nan, math.inf], ts.size) * rng.integers(1, 100, ts.size)
        if with_stale and i == 1 and ts.size:
            values[rng.integers(0, ts.size)] = STALE
        for t, v in zip(ts.tolist(), values.tolist(), strict=True):
            for src in sources:
                src.add({"__name__": "m", "i": str(i)}, int(t), float(v))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    fn=st.sampled_from(FUNCTIONS),
    hours=st.sampled_from([1, 2]),
    step_h=st.sampled_from([1, 3]),
    start_h=st.integers(0, 2),
)
def test_windows_of_whole_hours_at_whole_hours_equal_raw(
    seed: int, fn: str, hours: int, step_h: int, start_h: int
) -> None:
    """Hour buckets alone (no raw edge): a sample exactly at a step counts, from its bucket's
    first sample; samples on a grid hit the hours, others miss them."""
    plain, rollups = MemorySource(rollups=False), CountingMemory(rollups=True)
    fill_on_a_grid(np.random.default_rng(seed), (plain, rollups))
    query = f"{fn}(m[{hours}h])"
    start = start_h * HOUR
    raw, rolled = (Engine(s).range(query, start, start + 6 * HOUR, step_h * HOUR) for s in (plain, rollups))
    same(raw, rolled, exact=fn in ("min_over_time", "max_over_time", "count_over_time"))
    assert rollups.asked == [(HOUR, [])]  # hour buckets, no raw interval


class CountingMemory(MemorySource):
    """Records what the rollup path asked (width, raw intervals) and how often buckets answered."""

    def __init__(self, rollups: bool) -> None:
        super().__init__(rollups)
        self.asked: list[tuple[int, list[tuple[int, int]]]] = []
        self.answered = 0

    def select_rollup(self, matchers, width, start_ms, end_ms, intervals):  # type: ignore[no-untyped-def]
        self.asked.append((width, intervals))
        return super().select_rollup(matchers, width, start_ms, end_ms, intervals)

    def select_buckets(self, *args, **kw):  # type: ignore[no-untyped-def]
        got = super().select_buckets(*args, **kw)
        self.answered += got is not None
        return got


class Counting(StoreSource):
    """Counts the rollup reads the Store answered (windows: ``taken``; selectors: ``answered``)."""

    taken = answered = 0

    def select_rollup(self, *args, **kw):  # type: ignore[no-untyped-def]
        got = super().select_rollup(*args, **kw)
        self.taken += got is not None
        return got

    def select_buckets(self, *args, **kw):  # type: ignore[no-untyped-def]
        got = super().select_buckets(*args, **kw)
        self.answered += got is not None
        return got


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), fn=st.sampled_from(FUNCTIONS))
def test_rollups_equal_raw_on_the_store(seed: int, fn: str) -> None:
    rng = np.random.default_rng(seed)
    clock = FakeClock()
    end = int(clock.now * 1000) - 3 * 3_600_000
    begin = end - 60 * 3_600_000
    with tempfile.TemporaryDirectory(prefix="pulse-rollup-") as tmp:
        settings_ = load_settings(database_url=f"sqlite:///{tmp}/p.db", ingest={"chunk_seconds": 600})
        store = open_store(settings_, clock=clock)
        try:
            batch = []
            for host in ("a", "b"):
                ts = np.arange(begin, end, 15_000) + rng.integers(0, 20, size=(end - begin) // 15_000)
                keep = rng.random(ts.size) > 0.1  # gaps
                vals = np.round(rng.normal(50, 20, ts.size), 3)
                batch += [
                    Sample("m", labels_of(host=host), int(t), float(v))
                    for t, v in zip(ts[keep], vals[keep], strict=True)
                ]
            store.write(batch)
            store.compact()
            store.write([Sample("m", labels_of(host="a"), int(begin + 61_000), 7.0)])  # a late overwrite
            raw_engine, counting = Engine(StoreSource(store, rollups=False)), Counting(store)
            query = f"{fn}(m[1d])"  # hour buckets: the Store offers no 1-minute ones (MIN_STORE_WIDTH)
            step = int(rng.choice([6, 8])) * 3_600_000 + int(rng.integers(0, 4)) * 15_000
            start = begin + 24 * 3_600_000 + int(rng.integers(0, 4)) * 900_000
            same(
                raw_engine.range(query, start, end, step),
                Engine(counting).range(query, start, end, step),
                exact=fn in ("min_over_time", "max_over_time", "count_over_time"),
            )
            assert counting.taken == 1
            clock.advance(8 * 86_400)  # raw retention (7 d) may have dropped the edges' samples
            Engine(counting).range(query, start, end, step)
            # windows of whole hours at whole hours need no raw sample: rollups answer them still
            whole = start % 3_600_000 == step % 3_600_000 == 0
            assert counting.taken == 1 + whole, "a range older than raw retention takes the raw path"
        finally:
            store.close()


def test_hourly_windows_on_the_store_read_rollups_alone_and_old_rollups_fall_back(db_url: str) -> None:
    """``avg_over_time(m[1h])`` at whole hours on a real Store: hour rollups alone (packed chunks
    and rows; the newest hours computed from raw on the fly), equal to the raw path, samples
    exactly at the hours counted. Rollup rows written before their first sample was kept
    (first/first_ts NULL, as migration 0019 leaves them) send the query to the raw path."""
    clock = FakeClock()
    now = int(clock.now * 1000) // HOUR * HOUR
    begin, end = now - 40 * HOUR, now - 20 * MIN
    rng = np.random.default_rng(5)
    store = open_store(load_settings(database_url=db_url), clock=clock)
    try:
        ts = np.arange(begin, end, 15_000)  # on the hours
        vals = np.round(rng.normal(50, 20, ts.size), 3)
        store.write(
            [Sample("m", labels_of(host="a"), int(t), float(v)) for t, v in zip(ts, vals, strict=True)]
        )
        store.compact()
        raw_engine, counting = Engine(StoreSource(store, rollups=False)), Counting(store)
        args = (now - 30 * HOUR, now - HOUR, HOUR)
        for fn in FUNCTIONS:
            want = raw_engine.range(f"{fn}(m[1h])", *args)
            same(
                want,
                Engine(counting).range(f"{fn}(m[1h])", *args),
                exact=fn in ("min_over_time", "max_over_time", "count_over_time"),
            )
        assert counting.taken == len(FUNCTIONS)
        counts = raw_engine.range("count_over_time(m[1h])", *args)
        assert counts.series[0].values.tolist() == [241.0] * 30  # 240 in the hour + the one at its end
        with store.engine.begin() as conn:
            changed = conn.exec_driver_sql("UPDATE rollup_1h SET first = NULL, first_ts = NULL").rowcount
        assert changed > 0
        got = Engine(Counting(store)).range("count_over_time(m[1h])", *args)
        same(counts, got, exact=True)
    finally:
        store.close()


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    query=st.sampled_from(["m", "timestamp(m)", "m offset 1h", "sum(m)", f"m @ {7 * HOUR // 1000}"]),
    step_h=st.sampled_from([1, 3]),
    start_h=st.integers(0, 3),
    lookback=st.sampled_from([None, 60_000, HOUR]),
    with_stale=st.booleans(),
)
def test_selectors_at_whole_hours_from_rollups_equal_raw(
    seed: int, query: str, step_h: int, start_h: int, lookback: int | None, with_stale: bool
) -> None:
    """An instant selector at whole hours from hour buckets: the sample exactly at the hour, else
    the previous bucket's last within the lookback; a series with a stale marker declines."""
    plain, rollups = MemorySource(rollups=False), CountingMemory(rollups=True)
    fill_on_a_grid(np.random.default_rng(seed), (plain, rollups), with_stale)
    start = start_h * HOUR
    options = {} if lookback is None else {"lookback_ms": lookback}
    raw, rolled = (
        Engine(s, **options).range(query, start, start + 6 * HOUR, step_h * HOUR) for s in (plain, rollups)
    )
    same(raw, rolled, exact=True)
    assert rollups.answered == (0 if with_stale else 1)


def test_selectors_at_whole_hours_on_the_store_and_a_stale_marker_sends_them_to_raw(db_url: str) -> None:
    """``sum(m)`` and ``m`` at 3 h steps over a day and a half on a real Store answer from hour
    rollups, equal to raw; once a stale marker is written for a series (remote write, recording
    rules), ``series.stale_seen`` sends its selectors to the raw path, where the marker ends it."""
    clock = FakeClock()
    now = int(clock.now * 1000) // HOUR * HOUR
    begin, end = now - 40 * HOUR, now - 20 * MIN
    rng = np.random.default_rng(9)
    store = open_store(load_settings(database_url=db_url), clock=clock)
    try:
        batch = []
        for host in ("a", "b"):
            ts = np.arange(begin, end, 15_000)
            ts = ts[rng.random(ts.size) > 0.3]  # gaps: some hours have no sample at their start
            batch += [Sample("m", labels_of(host=host), int(t), float(rng.integers(0, 50))) for t in ts]
        store.write(batch)
        store.compact()
        raw_engine, counting = Engine(StoreSource(store, rollups=False)), Counting(store)
        args = (now - 36 * HOUR, now - HOUR, 3 * HOUR)
        for query in ("m", "sum(m)", "timestamp(m)", "m offset 2h"):
            same(raw_engine.range(query, *args), Engine(counting).range(query, *args), exact=True)
        assert counting.answered == 4
        # a series given a stale marker (remote write, recording rules) answers from raw samples
        gone = now - 21 * HOUR  # a step: n is absent there
        store.write([Sample("n", (), t, STALE if t == gone else 1.0) for t in range(begin, end, 60_000)])
        with_marker = raw_engine.range("n", *args)
        assert gone not in with_marker.series[0].ts.tolist() and with_marker.series[0].ts.size > 5
        same(with_marker, Engine(counting).range("n", *args), exact=True)
        assert counting.answered == 4  # declined: n had a stale marker
        assert Engine(counting).range('m{host="a"}', *args).series and counting.answered == 5
    finally:
        store.close()
