"""store.select: every aggregation over time and across series against a numpy recomputation,
bucket edges, rate/increase over counter resets, resolution choice and the result's shape."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from core.kernel.samples import Sample, labels_of
from core.kernel.selector import parse_selector
from core.kernel.settings import RetentionSettings
from core.storage.tsdb.query import Query, auto_step, pick_resolution
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
START = T0_MS - 20 * MIN + 7_000  # deliberately not aligned to anything
STEP = MIN
END = START + 10 * STEP
SERIES = [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")]
OVER_TIME = ["avg", "min", "max", "sum", "count", "last", "quantile"]
ACROSS = ["avg", "min", "max", "sum", "count", "quantile"]


def make_data(seed: int = 7) -> pl.DataFrame:
    """Irregular samples of four series, some before START and after END, one near-duplicate ts."""
    rng = np.random.default_rng(seed)
    frames = []
    for host, region in SERIES:
        n = int(rng.integers(40, 70))
        ts = np.unique(rng.integers(START - 2 * MIN, END + MIN, n))
        vals = np.round(rng.normal(50, 20, ts.size), 3)
        frames.append(pl.DataFrame({"host": host, "region": region, "ts": ts, "value": vals}))
    # exact bucket edges and the last millisecond of a bucket
    edges = pl.DataFrame(
        {
            "host": "a",
            "region": "x",
            "ts": [START, START + STEP - 1, START + STEP, END - 1, END],
            "value": 1.5,
        }
    )
    df = pl.concat([pl.concat(frames), edges]).unique(["host", "region", "ts"], keep="last")
    return df.sort("host", "region", "ts")


def write_frame(store: Store, df: pl.DataFrame, metric: str = "lat") -> None:
    batch = [Sample(metric, labels_of(host=h, region=r), t, v) for h, r, t, v in df.iter_rows()]
    res = store.write(batch)
    assert res.accepted == len(batch) and not res.rejected


def bucketed(df: pl.DataFrame, start: int = START, end: int = END, step: int = STEP) -> pl.DataFrame:
    return df.filter((pl.col("ts") >= start) & (pl.col("ts") < end)).with_columns(
        (start + (pl.col("ts") - start) // step * step).alias("b")
    )


REDUCE = {
    "avg": np.mean,
    "min": np.min,
    "max": np.max,
    "sum": np.sum,
    "count": np.size,
    "last": lambda v: v[-1],
}


def reference_over_time(df: pl.DataFrame, agg: str, q: float = 0.95) -> dict[tuple[str, str, int], float]:
    out = {}
    for (host, region, b), part in bucketed(df).group_by("host", "region", "b"):
        v = part.sort("ts")["value"].to_numpy()
        got = np.quantile(v, q, method="linear") if agg == "quantile" else REDUCE[agg](v)
        out[(host, region, b)] = float(got)
    return out


def as_dict(df: pl.DataFrame, keys: tuple[str, ...]) -> dict[tuple[object, ...], float]:
    df = df.with_columns(pl.col("ts").dt.epoch("ms").alias("b"))
    return {tuple(r[k] for k in (*keys, "b")): r["value"] for r in df.iter_rows(named=True)}


def assert_close(got: dict[Any, float], want: dict[Any, float]) -> None:
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-9), k


@pytest.fixture
def loaded(store: Store) -> tuple[Store, pl.DataFrame]:
    df = make_data()
    write_frame(store, df)
    return store, df


def test_every_over_time_aggregation_matches_numpy(loaded: tuple[Store, pl.DataFrame]) -> None:
    store, df = loaded
    for agg in OVER_TIME:
        got = store.select("lat", START, END, step_ms=STEP, over_time=agg, resolution="raw")
        assert got.columns == ["ts", "value", "host", "region"]
        assert_close(as_dict(got, ("host", "region")), reference_over_time(df, agg))
    for q in (0.0, 0.5, 1.0):
        got = store.select(
            "lat", START, END, step_ms=STEP, over_time="quantile", quantile=q, resolution="raw"
        )
        assert_close(as_dict(got, ("host", "region")), reference_over_time(df, "quantile", q))


def test_every_across_aggregation_matches_numpy(loaded: tuple[Store, pl.DataFrame]) -> None:
    store, df = loaded
    for over in ("avg", "max"):
        per_series = reference_over_time(df, over)
        for by in [(), ("region",), ("host", "region")]:
            groups: dict[tuple[object, ...], list[float]] = {}
            for (host, region, b), v in per_series.items():
                lb = {"host": host, "region": region}
                groups.setdefault((*[lb[k] for k in by], b), []).append(v)
            for agg in ACROSS:
                want = {
                    k: {
                        "avg": np.mean,
                        "min": np.min,
                        "max": np.max,
                        "sum": np.sum,
                        "count": len,
                        "quantile": lambda a: np.quantile(a, 0.9, method="linear"),
                    }[agg](np.array(vs))
                    for k, vs in groups.items()
                }
                got = store.select(
                    "lat",
                    START,
                    END,
                    step_ms=STEP,
                    over_time=over,
                    across=agg,
                    by=by,
                    quantile=0.9,
                    resolution="raw",
                )
                assert got.columns == ["ts", "value", *by]
                assert_close(as_dict(got, by), {k: float(v) for k, v in want.items()})


def test_buckets_are_half_open_and_labelled_by_their_start(store: Store) -> None:
    lb = labels_of(host="a")
    ts = [START - 1, START, START + STEP - 1, START + STEP, START + 3 * STEP - 1, START + 3 * STEP]
    store.write([Sample("m", lb, t, float(i)) for i, t in enumerate(ts)])
    got = store.select("m", START, START + 3 * STEP, step_ms=STEP, over_time="count", resolution="raw")
    assert got["ts"].dtype == pl.Datetime("ms", "UTC")
    assert got["ts"].dt.epoch("ms").to_list() == [START, START + STEP, START + 2 * STEP]
    assert got["value"].to_list() == [2.0, 1.0, 1.0]
    got = store.select("m", START, START + 3 * STEP, step_ms=STEP, over_time="last", resolution="raw")
    assert got["value"].to_list() == [2.0, 3.0, 4.0]


def test_rows_are_sorted_by_time_then_labels(loaded: tuple[Store, pl.DataFrame]) -> None:
    store, _ = loaded
    got = store.select("lat", START, END, step_ms=STEP, resolution="raw")
    assert got.equals(got.sort("ts", "host", "region"))


def test_by_a_label_no_series_has_groups_into_null(loaded: tuple[Store, pl.DataFrame]) -> None:
    store, df = loaded
    got = store.select("lat", START, END, step_ms=STEP, across="count", by=("zone",), resolution="raw")
    assert got.columns == ["ts", "value", "zone"] and got["zone"].null_count() == got.height == 10
    per_bucket = bucketed(df).group_by("b").agg(pl.struct("host", "region").n_unique().alias("n")).sort("b")
    assert got["value"].to_list() == per_bucket["n"].cast(pl.Float64).to_list()


def test_empty_results_keep_the_schema(store: Store) -> None:
    got = store.select("missing", START, END, step_ms=STEP, by=("host",), across="sum")
    assert got.is_empty() and got.schema == pl.Schema(
        {"ts": pl.Datetime("ms", "UTC"), "value": pl.Float64, "host": pl.Utf8}
    )
    store.write([Sample("m", labels_of(host="a"), START - DAY, 1.0)])
    got = store.select("m", START, END, step_ms=STEP, resolution="raw")
    assert got.is_empty() and got.columns[:2] == ["ts", "value"]


# -- counters ------------------------------------------------------------------------


def counter_values(n: int, resets: dict[int, float], seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v, out = 1000.0, []
    for i in range(n):
        v = resets[i] if i in resets else v + float(rng.integers(0, 20))
        out.append(v)
    return np.array(out)


def reference_increase(ts: np.ndarray, vals: np.ndarray, start: int, end: int, step: int) -> dict[int, float]:
    """Sum of per-pair increases (a drop counts as a restart from 0) by bucket of the later sample;
    pairs are consecutive samples read from [start - step, end)."""
    keep = (ts >= start - step) & (ts < end)
    ts, vals = ts[keep], vals[keep]
    out: dict[int, float] = {}
    for i in range(1, ts.size):
        b = start + (int(ts[i]) - start) // step * step
        if b < start:
            continue
        d = vals[i] - vals[i - 1] if vals[i] >= vals[i - 1] else vals[i]
        out[b] = out.get(b, 0.0) + float(d)
    return out


def test_rate_and_increase_across_counter_resets(store: Store) -> None:
    ts = np.arange(START - 5 * MIN, END, 10_000)
    vals = counter_values(ts.size, {40: 3.0, 41: 1.0, 70: 0.0, 71: 0.0, 90: 12.0})
    store.write(
        [Sample("req_total", labels_of(host="a"), int(t), float(v)) for t, v in zip(ts, vals, strict=True)]
    )
    want = reference_increase(ts, vals, START, END, STEP)
    assert len(want) == 10 and want[START + 2 * STEP] > 0
    got = store.select("req_total", START, END, step_ms=STEP, over_time="increase", resolution="raw")
    assert_close(as_dict(got, ()), {(b,): v for b, v in want.items()})
    got = store.select("req_total", START, END, step_ms=STEP, over_time="rate", resolution="raw")
    assert_close(as_dict(got, ()), {(b,): v / 60 for b, v in want.items()})
    # increase summed across series equals the sum of the increases
    store.write(
        [
            Sample("req_total", labels_of(host="b"), int(t), float(v) * 2)
            for t, v in zip(ts, vals, strict=True)
        ]
    )
    got = store.select(
        "req_total", START, END, step_ms=STEP, over_time="increase", across="sum", resolution="raw"
    )
    assert_close(as_dict(got, ()), {(b,): 3 * v for b, v in want.items()})


def test_increase_on_minute_rollups_uses_each_minutes_last_value(store: Store) -> None:
    start, step = T0_MS - 40 * MIN, 5 * MIN
    end = start + 6 * step
    ts = np.arange(start - 10 * MIN, end, 15_000)
    vals = counter_values(ts.size, {60: 2.0, 100: 0.0})
    store.write([Sample("c_total", (), int(t), float(v)) for t, v in zip(ts, vals, strict=True)])
    store.run_rollups()
    minute = ts - ts % MIN
    last = pl.DataFrame({"m": minute, "v": vals}).group_by("m", maintain_order=True).agg(pl.col("v").last())
    want = reference_increase(last["m"].to_numpy(), last["v"].to_numpy(), start, end, step)
    got = store.select("c_total", start, end, step_ms=step, over_time="increase", resolution="1m")
    assert_close(as_dict(got, ()), {(b,): v for b, v in want.items()})
    auto = store.select("c_total", start, end, step_ms=step, over_time="increase")  # step >= 1m: rollups
    assert auto.equals(got)


def test_increase_ignores_the_first_sample_after_a_gap(store: Store) -> None:
    lb = labels_of(host="a")
    before = [Sample("c_total", lb, START - 10 * MIN + i * 10_000, 1e6 + i) for i in range(6)]
    after = [Sample("c_total", lb, START + i * 10_000, 2e6 + i) for i in range(6)]  # 5 min gap before START
    store.write(before + after)
    got = store.select("c_total", START, START + STEP, step_ms=STEP, over_time="increase", resolution="raw")
    assert got["value"].to_list() == [5.0]


# -- resolution ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "start_age_days", "resolution", "expected"),
    [
        (15_000, 0, "auto", "raw"),
        (MIN - 1, 0, "auto", "raw"),
        (MIN, 0, "auto", "1m"),
        (HOUR - 1, 0, "auto", "1m"),
        (HOUR, 0, "auto", "1h"),
        (15_000, 8, "auto", "1m"),  # older than raw retention (7 d)
        (15_000, 36, "auto", "1h"),  # older than minute retention (35 d)
        (HOUR, 0, "raw", "raw"),
        (HOUR, -0.5, "auto", "1m"),  # a 1 h step over 30 minutes: minute rollups fit the range
        (15_000, 0, "1h", "1h"),
    ],
)
def test_pick_resolution(step: int, start_age_days: float, resolution: str, expected: str) -> None:
    """start_age_days: how far before now the range starts, beyond its 2 hours (-0.5: 30 minutes)."""
    start = T0_MS - int(start_age_days * DAY) - 2 * HOUR if start_age_days >= 0 else T0_MS - 30 * MIN
    q = Query(parse_selector("m"), start, T0_MS, step_ms=step, resolution=resolution)  # type: ignore[arg-type]
    assert pick_resolution(q, step, RetentionSettings(), T0_MS) == expected


def test_auto_step_picks_a_nice_step_for_about_200_points() -> None:
    assert auto_step(0, 200 * 15_000) == 15_000
    assert auto_step(0, DAY) == 600_000
    assert auto_step(0, 365 * DAY) == DAY


def test_auto_resolution_reads_rollups_for_long_steps(store: Store) -> None:
    ts = np.arange(T0_MS - 30 * MIN, T0_MS, 10_000)
    store.write([Sample("g", (), int(t), float(i)) for i, t in enumerate(ts)])
    raw = store.select("g", T0_MS - 30 * MIN, T0_MS, step_ms=10 * MIN, over_time="max", resolution="raw")
    # samples not rolled up yet are answered from raw, so the newest minutes are never missing
    assert store.select("g", T0_MS - 30 * MIN, T0_MS, step_ms=10 * MIN, over_time="max").equals(raw)
    store.run_rollups()
    assert store.select("g", T0_MS - 30 * MIN, T0_MS, step_ms=10 * MIN, over_time="max").equals(raw)


def test_a_step_longer_than_the_range_counts_every_sample_in_one_bucket(store: Store) -> None:
    ts = np.arange(T0_MS - 29 * MIN, T0_MS, 5 * MIN)  # 6 samples in the last 30 minutes
    store.write([Sample("g", (), int(t), 1.0) for t in ts])
    store.run_rollups()
    got = store.select("g", T0_MS - 30 * MIN, T0_MS, step_ms=HOUR, over_time="count")
    assert got["value"].to_list() == [6.0]


# -- labels --------------------------------------------------------------------------


def test_a_label_carried_only_by_later_series_is_kept(store: Store) -> None:
    batch = [Sample("h", labels_of(host=f"h{i:03}"), T0_MS, 1.0) for i in range(120)]
    batch.append(Sample("h", labels_of(host="zz", zone="z1"), T0_MS, 1000.0))
    store.write(batch)
    got = store.select("h", T0_MS, T0_MS + 1, step_ms=1, resolution="raw", across="sum", by=("zone",))
    assert dict(zip(got["zone"], got["value"], strict=True)) == {None: 120.0, "z1": 1000.0}


def test_labels_named_like_internal_columns_survive(store: Store) -> None:
    store.write([Sample("m", labels_of(b="x", series_id="y"), T0_MS, 5.0)])
    got = store.select("m", T0_MS, T0_MS + 1, step_ms=1, resolution="raw")
    assert got.select("value", "b", "series_id").rows() == [(5.0, "x", "y")]


def test_rollup_reads_join_rolled_hours_with_fresh_minutes(store: Store) -> None:
    """Older hours come from the rollup tables, hours with dirty minutes from raw, without a seam."""
    old = np.arange(T0_MS - 3 * HOUR, T0_MS - 30 * MIN, 20_000)
    store.write([Sample("g", labels_of(h="a"), int(t), float(i % 13)) for i, t in enumerate(old)])
    store.run_rollups()
    new = np.arange(T0_MS - 30 * MIN, T0_MS, 20_000)
    store.write([Sample("g", labels_of(h="a"), int(t), float(i % 7)) for i, t in enumerate(new)])
    for agg in ("avg", "max", "count", "last"):
        raw = store.select("g", T0_MS - 3 * HOUR, T0_MS, step_ms=MIN, over_time=agg, resolution="raw")
        rolled = store.select("g", T0_MS - 3 * HOUR, T0_MS, step_ms=MIN, over_time=agg, resolution="1m")
        assert rolled.equals(raw), agg
        assert rolled.height == 180
