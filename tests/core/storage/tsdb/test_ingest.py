"""The write path on real SQLite and PostgreSQL stores: reject reasons, duplicates, late samples,
the cardinality guard and persisted reject counters."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from core.kernel.samples import Sample, labels_of
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock

HOUR_MS = 3_600_000


def points(
    store: Store, selector: str, start_ms: int = 0, end_ms: int = 2**62
) -> dict[tuple[Any, ...], float]:
    """Every stored sample of the selected series: {(labels, ts): value}."""
    found = store.series(selector)
    labels = {sid: tuple(sorted(lb.items())) for sid, lb in zip(found["id"], found["labels"], strict=True)}
    df = store.raw(list(labels), start_ms, end_ms)
    return {(labels[sid], ts): v for sid, ts, v in df.iter_rows()}


def rejects(store: Store) -> dict[tuple[str, str], int]:
    return {(r, m): n for r, m, n, _ in store.rejects().iter_rows()}


def test_accepts_a_batch_and_reads_it_back(store: Store) -> None:
    a, b = labels_of(host="a"), labels_of(host="b", team="t1")
    batch = [Sample("cpu", a, T0_MS - i * 15_000, float(i)) for i in range(10)]
    batch += [Sample("cpu", b, T0_MS - i * 15_000, -float(i) / 3) for i in range(10)]
    res = store.write(batch)
    assert (res.accepted, res.rejected, res.new_series) == (20, Counter(), 2)
    assert points(store, "cpu") == {(s.labels, s.ts): s.value for s in batch}
    assert store.metrics() == ["cpu"] and store.series_count() == 2
    again = store.write([Sample("cpu", a, T0_MS + 1, 1.0)])
    assert (again.accepted, again.new_series) == (1, 0)


def test_plain_tuples_and_integers_are_samples_too(store: Store) -> None:
    res = store.write([("up", (("job", "x"),), T0_MS, 1), ("up", (("job", "x"),), float(T0_MS + 1000), 2.5)])
    assert res.accepted == 2 and not res.rejected
    assert points(store, "up") == {((("job", "x"),), T0_MS): 1.0, ((("job", "x"),), T0_MS + 1000): 2.5}


def test_empty_batch(store: Store) -> None:
    res = store.write([])
    assert (res.accepted, res.rejected, res.new_series) == (0, Counter(), 0)
    assert store.rejects().is_empty()


def test_duplicates_collapse_and_the_last_write_wins(store: Store) -> None:
    lb = labels_of(host="a")
    first = store.write(
        [Sample("m", lb, T0_MS, 1.0), Sample("m", lb, T0_MS, 2.0), Sample("m", lb, T0_MS - 1, 7.0)]
    )
    assert first.accepted == 3
    assert points(store, "m") == {(lb, T0_MS): 2.0, (lb, T0_MS - 1): 7.0}
    store.write([Sample("m", lb, T0_MS, 3.0)])
    store.write([Sample("m", lb, T0_MS - 1, 8.0), Sample("m", lb, T0_MS, 4.0)])
    assert points(store, "m") == {(lb, T0_MS): 4.0, (lb, T0_MS - 1): 8.0}


def test_out_of_order_samples_within_the_window_are_accepted(store: Store) -> None:
    lb = labels_of(host="a")
    window = store.settings.ingest.out_of_order_window_s * 1000
    store.write([Sample("m", lb, T0_MS, 1.0)])
    res = store.write(
        [
            Sample("m", lb, T0_MS - 1000, 2.0),
            Sample("m", lb, T0_MS - window, 3.0),  # exactly at the edge: still accepted
            Sample("m", lb, T0_MS - window - 1, 4.0),  # one ms beyond: too old
            Sample("other", lb, T0_MS - 10 * window, 5.0),  # a new series has no head yet
        ]
    )
    assert res.accepted == 3 and res.rejected == Counter({"too_old": 1})
    assert points(store, "m") == {(lb, T0_MS): 1.0, (lb, T0_MS - 1000): 2.0, (lb, T0_MS - window): 3.0}
    assert rejects(store) == {("too_old", "m"): 1}


def test_the_window_is_per_series_and_survives_reopening(make_store: Callable[..., Store]) -> None:
    store = make_store()
    lb_a, lb_b = labels_of(host="a"), labels_of(host="b")
    store.write([Sample("m", lb_a, T0_MS, 1.0), Sample("m", lb_b, T0_MS - 5 * HOUR_MS, 1.0)])
    late = T0_MS - 2 * HOUR_MS
    res = store.write([Sample("m", lb_a, late, 2.0), Sample("m", lb_b, late, 2.0)])
    assert res.accepted == 1 and res.rejected == Counter({"too_old": 1})
    store.close()
    reopened = make_store()  # a new writer learns the heads from the database
    res = reopened.write([Sample("m", lb_a, late, 3.0), Sample("m", lb_b, late - 1, 3.0)])
    assert res.accepted == 1 and res.rejected == Counter({"too_old": 1})


def test_future_samples_are_rejected_relative_to_the_clock(store: Store, clock: FakeClock) -> None:
    tol = store.settings.ingest.future_tolerance_s * 1000
    lb = labels_of(host="a")
    res = store.write([Sample("m", lb, clock.ms + tol, 1.0), Sample("m", lb, clock.ms + tol + 1, 2.0)])
    assert res.accepted == 1 and res.rejected == Counter({"future": 1})
    clock.advance(1)
    res = store.write([Sample("m", lb, clock.ms + tol, 3.0)])
    assert res.accepted == 1 and not res.rejected
    assert rejects(store) == {("future", "m"): 1}


def test_nan_and_inf_are_stored(store: Store) -> None:
    """As in Prometheus (issue 15 item 13; more in test_nan_values.py)."""
    lb = labels_of(host="a")
    vals = [math.nan, math.inf, -math.inf, 1.0]
    res = store.write([Sample("m", lb, T0_MS + i, v) for i, v in enumerate(vals)])
    assert res.accepted == 4 and not res.rejected
    got = points(store, "m")
    assert math.isnan(got[lb, T0_MS]) and [got[lb, T0_MS + i] for i in (1, 2, 3)] == vals[1:]
    assert rejects(store) == {}


@pytest.mark.parametrize(
    ("metric", "labels"),
    [
        ("1starts_with_digit", ()),
        ("has-dash", ()),
        ("has space", ()),
        ("", ()),
        ("ok", (("1label", "x"),)),
        ("ok", (("bad-label", "x"),)),
        ("ok", (("", "x"),)),
        ("ok", (("label", "x" * 1001),)),
        ("x" * 201, ()),
    ],
    ids=[
        "digit",
        "dash",
        "space",
        "empty",
        "label-digit",
        "label-dash",
        "label-empty",
        "long-value",
        "long-metric",
    ],
)
def test_bad_names_are_rejected(
    store: Store,
    metric: str,
    labels: tuple[tuple[str, str], ...],
) -> None:
    res = store.write([Sample(metric, labels, T0_MS, 1.0), Sample("fine:metric_total", (), T0_MS, 2.0)])
    assert res.accepted == 1 and res.rejected == Counter({"bad_name": 1})
    assert store.metrics() == ["fine:metric_total"]
    assert store.rejects()["reason"].to_list() == ["bad_name"]


GOOD = Sample("good", labels_of(host="a"), T0_MS, 1.0)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(("m", (), T0_MS, "abc"), id="value-abc"),
        pytest.param(("m", [("host", "a")], T0_MS, 1.0), id="labels-list"),
        pytest.param(("m", (), None, 1.0), id="ts-none"),
        pytest.param(("m", (), T0_MS), id="3-tuple"),
        pytest.param(None, id="none"),
        pytest.param("abcd", id="a-string"),
        pytest.param(("m", (), 2**63, 1.0), id="ts-overflow"),
        pytest.param(("m", (), math.nan, 1.0), id="ts-nan"),
        pytest.param(
            ("m", (), T0_MS, "1.5"),
            id="value-numeric-string",
        ),
        pytest.param(
            ("m", (), str(T0_MS), 1.0),
            id="ts-numeric-string",
        ),
        pytest.param(("m", (), T0_MS, 1.0, 9), id="5-tuple"),
        pytest.param(["m", (), T0_MS, 1.0], id="a-list"),
        pytest.param(
            ("m", (), T0_MS, None),
            id="value-none",
        ),
        pytest.param(
            {"metric": "m"},
            id="a-dict",
        ),
        pytest.param(
            (1, (), T0_MS, 1.0),
            id="metric-int",
        ),
        pytest.param(
            ("m", (("host", 1),), T0_MS, 1.0),
            id="label-value-int",
        ),
        pytest.param(
            ("m", (("host",),), T0_MS, 1.0),
            id="label-pair-short",
        ),
        pytest.param(
            ("m", (), T0_MS, 10**400),
            id="value-huge-int",
        ),
    ],
)
def test_malformed_samples_are_counted_and_the_rest_lands(store: Store, bad: object) -> None:
    res = store.write([bad, GOOD])  # type: ignore[list-item]
    assert res.accepted == 1 and res.rejected == Counter({"malformed": 1})
    assert points(store, "good") == {(GOOD.labels, GOOD.ts): 1.0}
    assert store.metrics() == ["good"]
    assert store.rejects()["reason"].to_list() == ["malformed"]


def test_reject_counters_accumulate_and_persist_across_reopening(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    lb = labels_of(host="a")
    store.write(
        [Sample("m", lb, T0_MS, 1.0), Sample("m", lb, T0_MS + HOUR_MS, 1.0), Sample("n", lb, T0_MS, 1.0)]
    )
    store.close()
    clock.advance(60)
    reopened = make_store()
    df = reopened.rejects()
    assert df.columns == ["reason", "metric", "count", "last_ms"]
    assert df.dtypes == [pl.Utf8, pl.Utf8, pl.Int64, pl.Int64]
    assert rejects(reopened) == {("future", "m"): 1}
    reopened.write([Sample("m", lb, T0_MS + HOUR_MS, 2.0), Sample("n", lb, T0_MS + HOUR_MS, 2.0)])
    assert rejects(reopened) == {("future", "m"): 2, ("future", "n"): 1}
    last = {(r, m): t for r, m, _, t in reopened.rejects().iter_rows()}
    assert last[("future", "m")] == clock.ms and last[("future", "n")] == clock.ms


def test_cardinality_guard_caps_series_per_metric(make_store: Callable[..., Store]) -> None:
    store = make_store(ingest={"max_series_per_metric": 3})
    batch = [Sample("m", labels_of(host=f"h{i}"), T0_MS, float(i)) for i in range(5)]
    batch += [Sample("other", labels_of(host=f"h{i}"), T0_MS, 1.0) for i in range(3)]
    res = store.write(batch)
    assert res.accepted == 6 and res.new_series == 6 and res.rejected == Counter({"cardinality": 2})
    assert len(store.series("m")) == 3 and len(store.series("other")) == 3
    kept = {lb["host"] for lb in store.series("m")["labels"]}
    # the existing series keep working, new ones stay out, even in a later batch
    res = store.write([Sample("m", labels_of(host=h), T0_MS + 1, 1.0) for h in [*kept, "h8", "h9"]])
    assert res.accepted == 3 and res.new_series == 0 and res.rejected == Counter({"cardinality": 2})
    store.close()
    reopened = make_store(ingest={"max_series_per_metric": 3})  # the count comes from the database
    res = reopened.write([Sample("m", labels_of(host="h10"), T0_MS + 2, 1.0)])
    assert res.accepted == 0 and res.rejected == Counter({"cardinality": 1})
    assert rejects(reopened) == {("cardinality", "m"): 5}
    assert reopened.series_count() == 6


def test_cardinality_guard_counts_duplicates_of_one_new_series_once(make_store: Callable[..., Store]) -> None:
    store = make_store(ingest={"max_series_per_metric": 2})
    lb = labels_of(host="a")
    res = store.write(
        [Sample("m", lb, T0_MS, 1.0), Sample("m", lb, T0_MS + 1, 2.0), Sample("m", lb, T0_MS + 2, 3.0)]
    )
    assert res.accepted == 3 and res.new_series == 1 and not res.rejected
    res = store.write(
        [Sample("m", labels_of(host="b"), T0_MS, 1.0), Sample("m", labels_of(host="c"), T0_MS, 1.0)]
    )
    assert res.accepted == 1 and res.rejected == Counter({"cardinality": 1})


def test_one_bad_sample_does_not_hide_the_other_reasons(store: Store) -> None:
    lb = labels_of(host="a")
    store.write([Sample("m", lb, T0_MS, 0.0)])
    batch = [
        ("m", lb, T0_MS, "abc"),
        Sample("m", lb, T0_MS + 1, math.nan),
        Sample("m", lb, T0_MS + HOUR_MS, 1.0),
        Sample("m", lb, T0_MS - 2 * HOUR_MS, 1.0),
        Sample("bad-name", (), T0_MS, 1.0),
        Sample("m", lb, T0_MS + 5, 5.0),
    ]
    res = store.write(batch)  # type: ignore[arg-type]
    assert res.accepted == 2  # the NaN is a value (issue 15 item 13)
    assert res.rejected == Counter(malformed=1, future=1, too_old=1, bad_name=1)
    got = points(store, "m")
    assert math.isnan(got.pop((lb, T0_MS + 1))) and got == {(lb, T0_MS): 0.0, (lb, T0_MS + 5): 5.0}


def test_one_label_set_is_one_series_whatever_its_order(store: Store) -> None:
    store.write([Sample("m", (("zone", "z"), ("host", "a")), T0_MS, 1.0)])
    store.write([Sample("m", (("host", "a"), ("zone", "z")), T0_MS, 2.0)])
    store.write([Sample("m", (("host", "a"), ("rack", ""), ("zone", "z")), T0_MS + 1, 3.0)])
    assert store.series_count() == 1
    assert points(store, "m") == {
        (labels_of(host="a", zone="z"), T0_MS): 2.0,
        (labels_of(host="a", zone="z"), T0_MS + 1): 3.0,
    }


def test_a_label_name_given_twice_is_rejected(store: Store) -> None:
    res = store.write([Sample("m", (("host", "a"), ("host", "b")), T0_MS, 1.0)])
    assert res.accepted == 0 and res.rejected.total() == 1
