"""Batched queries answer exactly what the same queries answer one by one."""

from __future__ import annotations

from polars.testing import assert_frame_equal

from core.kernel.samples import Sample, labels_of
from core.storage.tsdb import Store
from core.storage.tsdb.query import Query
from tests.conftest import FakeClock


def fill(store: Store, clock: FakeClock) -> None:
    now = clock.ms
    samples = []
    for i in range(40):
        t = now - i * 15_000
        for h in ("a", "b", "c"):
            for srv in ("s1", "s2"):
                lb = labels_of(host=h, server=srv, team="x" if h != "c" else "y")
                samples.append(Sample("cpu", lb, t, (i % 7) / 10 + (h == "b")))
                samples.append(Sample("calls_total", lb, t, 1000.0 - i * 3))
    samples.append(Sample("cpu", labels_of(host="d", extra="only-here"), now - 1000, 5.0))
    store.write(samples)


QUERIES = [
    ('cpu{host="a"}', {}),
    ('cpu{host=~"a|b"}', {"across": "max", "by": ("host",)}),
    ("cpu", {"across": "avg", "by": ("team",)}),
    ("cpu", {"across": "sum"}),
    ('cpu{server="s2"}', {"over_time": "max"}),
    ('cpu{host="d"}', {}),
    ('cpu{host="nobody"}', {}),
    ('calls_total{host="c"}', {"over_time": "rate"}),
    ("calls_total", {"over_time": "increase", "across": "sum", "by": ("host",)}),
]


def test_query_many_and_instant_many_agree_with_single_queries(store: Store, clock: FakeClock) -> None:
    fill(store, clock)
    now = clock.ms
    qs = [Query.parse(sel, now - 300_000, now, step_ms=300_001, **kw) for sel, kw in QUERIES]  # type: ignore[arg-type]
    singles = [store.query(q) for q in qs]
    for q, got, want in zip(qs, store.query_many(qs), singles, strict=True):
        assert_frame_equal(got, want, check_column_order=False), q
    for q, vector, want in zip(qs, store.instant_many(qs), singles, strict=True):
        keys = [c for c in want.columns if c not in ("ts", "value")]
        expected = (
            sorted(
                (tuple(sorted((k, r[k]) for k in keys if r[k] is not None)), r["value"])
                for r in want.sort("ts")
                .group_by(keys or ["ts"], maintain_order=True)
                .last()
                .iter_rows(named=True)
            )
            if keys
            else [((), want.sort("ts")["value"][-1])]
            if want.height
            else []
        )
        assert sorted((tuple(sorted(lb.items())), v) for lb, v in vector) == expected, q
    assert store.instant_many([qs[5]])[0] == [({"extra": "only-here", "host": "d"}, 5.0)]
    assert store.instant_many([qs[6]])[0] == []


def test_an_empty_range_keeps_the_label_columns_as_a_single_query_does(
    store: Store, clock: FakeClock
) -> None:
    fill(store, clock)
    old = clock.ms - 86_400_000
    qs = [Query.parse('cpu{host="a"}', old - 300_000, old), Query.parse("cpu", old - 300_000, old)]
    for got, q in zip(store.query_many(qs), qs, strict=True):
        assert_frame_equal(got, store.query(q))
        assert "host" in got.columns and got.is_empty()
