"""``also_over_time``: several aggregations of one read equal the separate reads, column for column,
on raw samples, on rollup rows and on packed rollup chunks, alone and in ``query_many``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.kernel.errors import QueryError
from core.kernel.samples import Sample, labels_of
from core.storage.tsdb.query import Query
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock

DAY, HOUR, MIN = 86_400_000, 3_600_000, 60_000
START = T0_MS - T0_MS % DAY - 3 * DAY
END = START + 3 * DAY
MORE = ("max", "count", "min", "last", "quantile")


def _write(store: Store) -> None:
    store.write(
        [
            Sample("m", labels_of(host=h, team=t), ts, round(1.5 + (ts // MIN % 37) / 10 + k, 2))
            for ts in range(START, END, 7 * MIN)
            for k, (h, t) in enumerate([("a", "x"), ("b", "x"), ("c", "y")])
            if not (h == "c" and START + DAY <= ts < START + 2 * DAY)  # a gap of a day
        ]
    )


def _check(store: Store, step: int, resolution: str) -> None:
    kw = {"step_ms": step, "resolution": resolution}
    both = store.select("m", START + 5 * MIN, END, over_time="avg", also_over_time=MORE, **kw)
    assert both.columns[:7] == ["ts", "value", *MORE] and both.height > 0
    alone = store.select("m", START + 5 * MIN, END, over_time="avg", **kw)
    assert both.drop(*MORE).equals(alone)
    for name in MORE:
        one = store.select("m", START + 5 * MIN, END, over_time=name, **kw)
        assert (
            both.drop("value", *[m for m in MORE if m != name])
            .rename({name: "value"})
            .equals(one.select(both.drop(*MORE).columns))
        ), (resolution, name)
    q = Query.parse('m{team="x"}', START, END, over_time="max", also_over_time=("avg",), **kw)  # type: ignore[arg-type]
    (shared,) = store.query_many([q])
    assert shared.equals(store.query(q))
    assert set(shared["host"].to_list()) == {"a", "b"}


def test_also_over_time_equals_separate_reads(make_store: Callable[..., Store], clock: FakeClock) -> None:
    store = make_store()
    _write(store)
    store.run_rollups()
    clock.now = END / 1000
    _check(store, 15 * MIN, "raw")
    _check(store, HOUR, "1h")  # rollup rows
    clock.now = (END + 10 * DAY) / 1000
    store.compact()
    _check(store, HOUR, "1h")  # packed rollup chunks
    _check(store, 2 * HOUR, "1m")


@pytest.mark.parametrize(
    "kw",
    [
        {"over_time": "rate", "also_over_time": ("max",)},
        {"over_time": "avg", "also_over_time": ("increase",)},
        {"over_time": "avg", "also_over_time": ("max", "max")},
        {"over_time": "avg", "also_over_time": ("avg",)},
        {"over_time": "avg", "also_over_time": ("max",), "across": "sum"},
    ],
)
def test_also_over_time_refuses_what_it_cannot_answer(kw: dict[str, object]) -> None:
    with pytest.raises(QueryError, match="also_over_time"):
        Query.parse("m", START, END, **kw).validate()


def test_also_over_time_refuses_a_label_of_the_same_name(store: Store) -> None:
    store.write([Sample("m", labels_of(host="a", count="3"), START, 1.0)])
    with pytest.raises(QueryError, match="shadow"):
        store.select("m", START, END, step_ms=HOUR, over_time="avg", also_over_time=("count",))
    assert store.select("m", START, END, step_ms=HOUR).height == 1  # the plain read is unaffected
