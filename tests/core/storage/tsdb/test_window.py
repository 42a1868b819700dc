"""The numpy window of alert rules (core.storage.tsdb.window) answers what the general polars path
(``query.per_series``) answers, on random data: NaN values, counter drops, rewritten samples,
samples before the window, some written into chunks by compaction and some still in the head."""

from __future__ import annotations

import math
import tempfile

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.storage.tsdb.query import BUCKET, SID, Query, per_series
from core.storage.tsdb.store import open_store
from core.storage.tsdb.window import COUNTERS, GAUGES, fits, window_values
from tests.conftest import T0_MS, FakeClock

WINDOW_MS = 300_000
values = st.one_of(st.floats(-1e6, 1e6), st.just(math.nan), st.integers(0, 4).map(float))  # repeats, drops
points = st.tuples(st.integers(0, 3), st.integers(0, 60).map(lambda k: T0_MS - k * 10_000), values)
batches = st.lists(st.lists(points, max_size=30), min_size=1, max_size=4)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=batches, over=st.sampled_from(GAUGES + COUNTERS), compact_after=st.integers(0, 4))
@example(  # a counter that stays, rises, restarts from zero: deltas 0, 1, 0 (the new value), 3
    batches=[
        [(0, T0_MS - k * 60_000, v) for k, v in zip(range(5, 0, -1), [1.0, 1.0, 2.0, 0.0, 3.0], strict=True)]
    ],
    over="increase",
    compact_after=0,
)
def test_the_numpy_window_agrees_with_the_polars_path(
    batches: list[list[tuple[int, int, float]]], over: str, compact_after: int
) -> None:
    clock = FakeClock()
    with tempfile.TemporaryDirectory(prefix="pulse-window-") as tmp:
        store = open_store(load_settings(database_url=f"sqlite:///{tmp}/p.db"), clock=clock)
        try:
            for i, batch in enumerate(batches):
                store.write([Sample("m", labels_of(host=f"h{h}"), t, v) for h, t, v in batch])
                if i + 1 == compact_after:
                    store.compact()
            q = Query.parse("m", T0_MS - WINDOW_MS, T0_MS, step_ms=WINDOW_MS + 1, over_time=over)  # type: ignore[arg-type]
            assert fits(q, WINDOW_MS + 1, "raw")
            found = store.series("m")
            ids, labels = found["id"].to_list(), found["labels"].to_list()
            with store.engine.connect() as conn:
                got = window_values(conn, q, ids, WINDOW_MS + 1) if ids else {}
                want = {}
                if ids:
                    frame = per_series(conn, q, ids, labels, WINDOW_MS + 1, "raw")
                    last = frame.sort(BUCKET).group_by(SID).last().drop_nulls("value")
                    want = dict(zip(last[SID].to_list(), last["value"].to_list(), strict=True))
        finally:
            store.close()
    assert got.keys() == want.keys()
    for sid, value in want.items():
        assert _same(got[sid], value), (over, sid, got[sid], value)


def test_a_window_of_a_range_or_rollup_query_takes_the_general_path() -> None:
    q = Query.parse("m", T0_MS - WINDOW_MS, T0_MS, step_ms=60_000)
    assert not fits(q, 60_000, "raw")  # several buckets
    assert not fits(q, WINDOW_MS + 1, "1m")
    assert not fits(Query.parse("m", 0, WINDOW_MS, over_time="quantile", quantile=0.5), WINDOW_MS + 1, "raw")
