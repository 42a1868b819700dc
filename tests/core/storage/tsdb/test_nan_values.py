"""NaN and infinities in the store (issue 15 item 13): stored and read back bit for bit, Prometheus'
stale marker kept apart from a real NaN, and aggregations that treat NaN as Prometheus does."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from core.kernel.samples import STALE_NAN_BITS, Sample, labels_of
from core.storage.tsdb.chunks import decode, decode_table, encode, encode_table
from core.storage.tsdb.query import Query
from core.storage.tsdb.read import is_stale
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS

NORMAL_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]
STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
MIN = 60_000


def bits(x: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", x))[0])


def test_chunks_round_trip_nan_infinities_and_the_stale_marker_bit_for_bit() -> None:
    vals = np.array([1.5, NORMAL_NAN, math.inf, -math.inf, STALE, 2.0, math.nan, -0.0])
    ts = np.arange(vals.size, dtype=np.int64) * 15_000 + T0_MS
    got_ts, got = decode(encode(ts, vals))
    assert np.array_equal(got_ts, ts)
    assert got.view(np.uint64).tolist() == vals.view(np.uint64).tolist()
    got_ts, (a, b) = decode_table(encode_table(ts, [vals, vals[::-1].copy()]))  # rollup chunks
    assert a.view(np.uint64).tolist() == vals.view(np.uint64).tolist()
    assert b.view(np.uint64).tolist() == vals[::-1].view(np.uint64).tolist()
    assert STALE_NAN_BITS == 0x7FF0000000000002 and is_stale(np.array([STALE, NORMAL_NAN])).tolist() == [
        True,
        False,
    ]


def test_nan_and_infinities_are_stored_and_the_stale_marker_is_not_a_value(store: Store) -> None:
    lb = labels_of(host="a")
    batch = [
        Sample("m", lb, T0_MS + i, v) for i, v in enumerate([NORMAL_NAN, math.inf, -math.inf, STALE, 1.0])
    ]
    res = store.write(batch)
    assert res.accepted == 5 and not res.rejected
    found = store.series("m")
    df = store.raw(found["id"].to_list(), T0_MS, T0_MS + 10)
    got = dict(zip(df["ts"].to_list(), df["value"].to_list(), strict=True))
    assert sorted(got) == [T0_MS, T0_MS + 1, T0_MS + 2, T0_MS + 4]  # the stale marker ends the series
    assert (
        bits(got[T0_MS]) == 0x7FF8000000000001 and got[T0_MS + 1] == math.inf and got[T0_MS + 2] == -math.inf
    )


@pytest.mark.parametrize(
    ("agg", "want"),
    [("max", 3.0), ("min", 1.0), ("avg", math.nan), ("sum", math.nan), ("count", 3.0)],
)
def test_aggregations_over_nan_follow_prometheus(store: Store, agg: str, want: float) -> None:
    """max/min skip NaN unless every value is NaN; avg/sum propagate it; count counts it."""
    lb = labels_of(host="a")
    store.write([Sample("m", lb, T0_MS + i * 1000, v) for i, v in enumerate([1.0, NORMAL_NAN, 3.0])])
    q = Query.parse("m", T0_MS, T0_MS + MIN, step_ms=MIN, over_time=agg, resolution="raw")  # type: ignore[arg-type]
    (got,) = store.query(q)["value"].to_list()
    assert (math.isnan(got) and math.isnan(want)) or got == want
    q = Query.parse("m", T0_MS, T0_MS + MIN, step_ms=MIN, over_time="last", across=agg, resolution="raw")  # type: ignore[arg-type]
    assert store.query(q)["value"].to_list() == [3.0 if agg != "count" else 1.0]


def test_raw_arrays_read_what_raw_reads(store: Store) -> None:
    """The array read of long ranges (rule range evaluation) = the frame read: rewrites, chunks
    and head blocks merged with the last write winning, stale markers dropped, sorted."""
    a, b = labels_of(host="a"), labels_of(host="b")
    store.write([Sample("m", lb, T0_MS + i * MIN, float(i)) for i in range(30) for lb in (a, b)])
    store.compact()
    store.write([Sample("m", a, T0_MS + 5 * MIN, 55.0), Sample("m", b, T0_MS + 40 * MIN, STALE)])
    store.write([Sample("m", a, T0_MS + 5 * MIN, 56.0), Sample("m", a, T0_MS + 31 * MIN, NORMAL_NAN)])
    ids = store.series("m")["id"].to_list()
    frame = store.raw(ids, T0_MS + MIN, T0_MS + 60 * MIN)
    sid, ts, value = store.raw_arrays(ids, T0_MS + MIN, T0_MS + 60 * MIN)
    assert sid.tolist() == frame["series_id"].to_list() and ts.tolist() == frame["ts"].to_list()
    assert value.view(np.uint64).tolist() == frame["value"].to_numpy().view(np.uint64).tolist()
    assert 56.0 in value.tolist() and 55.0 not in value.tolist() and not is_stale(value).any()


def test_a_minute_of_nan_samples_is_rolled_up_and_read_back_as_nan(store: Store) -> None:
    """SQLite binds a NaN as NULL: the rollup job used to fail on the NOT NULL columns (every run
    after, the dirty minute never cleared). Now the minute's row holds NaN, on both backends."""
    lb = labels_of(host="a")
    store.write([Sample("m", lb, T0_MS - 2 * MIN + i * 15_000, NORMAL_NAN) for i in range(4)])
    store.write([Sample("m", lb, T0_MS - MIN + i * 15_000, float(i) if i else NORMAL_NAN) for i in range(4)])
    assert store.run_rollups() > 0
    store.compact()
    q = Query.parse("m", T0_MS - 2 * MIN, T0_MS, step_ms=MIN, over_time="max", resolution="1m")
    got = store.query(q)["value"].to_list()
    assert math.isnan(got[0]) and got[1] == 3.0  # max skips NaN unless every value is NaN
    q = Query.parse("m", T0_MS - 2 * MIN, T0_MS, step_ms=MIN, over_time="sum", resolution="1m")
    assert all(math.isnan(v) for v in store.query(q)["value"].to_list())
