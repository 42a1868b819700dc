"""Rollups (min, max, sum, count, last per minute and hour) against a polars recomputation from the
raw data, through duplicates, late samples and compaction; only dirty buckets are recomputed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from core.kernel.samples import Sample, labels_of
from core.storage.schema import rollup_1h, rollup_1m, rollup_chunks, rollup_dirty, series
from core.storage.tsdb.rollup import SLICE_SAMPLES, read_rollup_current, run_rollups
from core.storage.tsdb.rollup_chunks import decode_many
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock

MIN, HOUR = 60_000, 3_600_000
WINDOW = 10 * MIN  # chunk_seconds of these tests
HOSTS = ("a", "b", "c")
Model = dict[tuple[str, int], float]  # (host, ts) -> last written value


def table(store: Store, t: sa.Table) -> pl.DataFrame:
    """A rollup table keyed by host instead of series id (a read-only select)."""
    found = store.series("m")
    host = dict(zip(found["id"], [lb["host"] for lb in found["labels"]], strict=True))
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.series_id, t.c.ts, t.c.min, t.c.max, t.c.sum, t.c["count"], t.c.last)
        ).all()
    df = pl.DataFrame(
        [(host[r[0]], *r[1:]) for r in rows],
        schema={"host": pl.Utf8, "ts": pl.Int64, **dict.fromkeys(["min", "max", "sum"], pl.Float64)}
        | {"count": pl.Int64, "last": pl.Float64},
        orient="row",
    )
    return df.sort("host", "ts")


def recompute(model: Model, width: int) -> pl.DataFrame:
    raw = pl.DataFrame(
        [(h, t, v) for (h, t), v in model.items()],
        schema={"host": pl.Utf8, "ts": pl.Int64, "value": pl.Float64},
        orient="row",
    ).sort("host", "ts")
    v = pl.col("value")
    return (
        raw.group_by("host", (pl.col("ts") - pl.col("ts") % width).alias("b"))
        .agg(
            v.min().alias("min"),
            v.max().alias("max"),
            v.sum().alias("sum"),
            pl.len().alias("count"),
            v.last().alias("last"),
        )
        .rename({"b": "ts"})
        .with_columns(pl.col("count").cast(pl.Int64))
        .sort("host", "ts")
    )


def current(store: Store) -> pl.DataFrame:
    """Minute rollups as readers see them (rows, or computed from raw without the 1 m tier)."""
    found = store.series("m")
    host = dict(zip(found["id"], [lb["host"] for lb in found["labels"]], strict=True))
    with store.engine.connect() as conn:
        df = read_rollup_current(conn, MIN, sorted(host), 0, 2**62)
    return df.with_columns(pl.col("series_id").replace_strict(host).alias("host")).drop("series_id")


def force_tier(store: Store) -> None:
    """Record a 1 s interval for every series: they keep the 1 m tier (tiers.py)."""
    with store.engine.begin() as conn:
        conn.execute(sa.update(series).values(interval_ms=1000))


def assert_rollups_match(store: Store, model: Model, tier: bool = True) -> None:
    for t, width in ((rollup_1m, MIN), (rollup_1h, HOUR)):
        got, want = table(store, t), recompute(model, width)
        if t is rollup_1m and not tier:
            assert got.is_empty()
            got = current(store).select(got.columns).sort("host", "ts")
        assert got.select("host", "ts", "count").equals(want.select("host", "ts", "count")), t.name
        for col in ("min", "max", "last"):
            assert got[col].to_list() == want[col].to_list(), (t.name, col)
        np.testing.assert_allclose(got["sum"].to_numpy(), want["sum"].to_numpy(), rtol=1e-12)


def assert_raw_matches(store: Store, model: Model) -> None:
    found = store.series("m")
    host = dict(zip(found["id"], [lb["host"] for lb in found["labels"]], strict=True))
    got = {(host[s], t): v for s, t, v in store.raw(list(host), 0, 2**62).iter_rows()}
    assert got == model


def write(store: Store, model: Model, samples: list[tuple[str, int, float]]) -> None:
    """Write per chunk window (no batch straddles a compaction cutoff) and record it in the model."""
    by_window: dict[int, list[tuple[str, int, float]]] = {}
    for s in samples:
        by_window.setdefault(s[1] // WINDOW, []).append(s)
    for _, part in sorted(by_window.items()):  # oldest window first: nothing is too old
        res = store.write([Sample("m", labels_of(host=h), t, v) for h, t, v in part])
        assert res.accepted == len(part) and not res.rejected, res
        model.update({(h, t): v for h, t, v in part})


def random_samples(rng: np.random.Generator, lo: int, hi: int, n: int) -> list[tuple[str, int, float]]:
    hosts = rng.choice(HOSTS, n)
    ts = rng.integers(lo, hi, n)
    vals = rng.normal(0, 100, n) * 10.0 ** rng.integers(-3, 4, n)
    return [(str(h), int(t), float(v)) for h, t, v in zip(hosts, ts, vals, strict=True)]


def existing(
    rng: np.random.Generator, model: Model, lo: int, hi: int, n: int
) -> list[tuple[str, int, float]]:
    keys = [k for k in model if lo <= k[1] < hi]
    picked = rng.choice(len(keys), min(n, len(keys)), replace=False)
    return [(keys[i][0], keys[i][1], float(rng.normal(0, 100))) for i in picked]


@pytest.mark.parametrize("tier", [True, False], ids=["1m-tier", "no-1m-tier"])
def test_rollups_equal_a_recomputation_through_duplicates_late_samples_and_compaction(
    make_store: Callable[..., Store], clock: FakeClock, tier: bool
) -> None:
    """With the 1 m tier, its rows; without (samples ~15 s apart), what reads compute from raw."""
    store = make_store(ingest={"chunk_seconds": WINDOW // 1000})
    rng = np.random.default_rng(11)
    model: Model = {}
    write(store, model, random_samples(rng, T0_MS - 3 * HOUR, T0_MS, 1500))
    if tier:
        force_tier(store)
    write(store, model, existing(rng, model, T0_MS - HOUR, T0_MS, 60))  # duplicates: last write wins
    write(store, model, random_samples(rng, T0_MS - HOUR, T0_MS - 30 * MIN, 40))  # late, in the window
    assert store.run_rollups() > 0
    assert_raw_matches(store, model)
    assert_rollups_match(store, model, tier)

    assert store.compact() > 0  # cutoff T0 - 1 h
    assert_raw_matches(store, model)
    assert_rollups_match(store, model, tier)

    clock.advance(30 * 60)
    assert store.compact() > 0  # cutoff T0 - 30 min
    # late samples and overwrites into windows that are already compacted
    write(store, model, random_samples(rng, T0_MS - HOUR, T0_MS - 30 * MIN, 40))
    write(store, model, existing(rng, model, T0_MS - HOUR, T0_MS - 30 * MIN, 40))
    store.run_rollups()
    assert_raw_matches(store, model)
    assert_rollups_match(store, model, tier)
    store.compact()  # merges them into the existing chunks
    assert_raw_matches(store, model)
    assert_rollups_match(store, model, tier)


def test_rollup_reads_equal_raw_reads(store: Store) -> None:
    rng = np.random.default_rng(5)
    model: Model = {}
    write(store, model, random_samples(rng, T0_MS - 3 * HOUR, T0_MS, 800))
    store.run_rollups()
    for agg in ("avg", "min", "max", "sum", "count", "last"):
        for res, start, step in (("1m", T0_MS - 2 * HOUR, 5 * MIN), ("1h", T0_MS - 3 * HOUR, HOUR)):
            got = store.select("m", start, T0_MS, step_ms=step, over_time=agg, resolution=res)
            raw = store.select("m", start, T0_MS, step_ms=step, over_time=agg, resolution="raw")
            assert got.drop("value").equals(raw.drop("value")), (agg, res)
            np.testing.assert_allclose(
                got["value"].to_numpy(), raw["value"].to_numpy(), rtol=1e-12, err_msg=f"{agg} {res}"
            )
            across = store.select(
                "m", start, T0_MS, step_ms=step, over_time=agg, across="sum", resolution=res
            )
            across_raw = store.select(
                "m", start, T0_MS, step_ms=step, over_time=agg, across="sum", resolution="raw"
            )
            np.testing.assert_allclose(across["value"].to_numpy(), across_raw["value"].to_numpy(), rtol=1e-12)


def dirty(store: Store) -> set[tuple[int, int]]:
    with store.engine.connect() as conn:
        return {
            (int(r), int(b))
            for r, b in conn.execute(sa.select(rollup_dirty.c.resolution, rollup_dirty.c.bucket))
        }


def mark(store: Store, t: sa.Table, ts: int) -> None:
    """Put a sentinel into a rollup row, to see later whether a run rewrote it."""
    with store.engine.begin() as conn:
        conn.execute(sa.update(t).where(t.c.ts == ts).values(sum=-1.0))


def marked(store: Store, t: sa.Table, ts: int) -> bool:
    return table(store, t).filter(pl.col("ts") == ts)["sum"].to_list() == [-1.0] * len(HOSTS)


def test_only_dirty_buckets_are_recomputed(store: Store) -> None:
    first, second = T0_MS - 2 * HOUR, T0_MS - HOUR
    samples = [(h, first + i * 30_000, float(i)) for h in HOSTS for i in range(240)]  # two hours
    write(store, {}, samples)
    force_tier(store)  # 30 s samples would get no 1 m rows
    assert {b for r, b in dirty(store) if r == MIN} == set(range(first, T0_MS, MIN))
    assert store.run_rollups() == 3 * 120 + 3 * 2  # every minute and both hours of three series
    assert dirty(store) == set()
    assert store.run_rollups() == 0  # nothing dirty: nothing recomputed

    # sentinels in the first hour (minute and hour rows) and in another minute of the second hour
    for t, ts in ((rollup_1m, first + 10 * MIN), (rollup_1h, first)):
        mark(store, t, ts)
    minute = second + 17 * MIN
    store.write([Sample("m", labels_of(host="a"), minute + 15_000, 1000.0)])
    assert dirty(store) == {(MIN, minute)}  # exactly that minute (its hour follows from it)
    written = store.run_rollups()
    assert 3 + 3 <= written <= 3 * 60 + 3  # at most the rows of the minute's hour
    assert dirty(store) == set()
    assert marked(store, rollup_1m, first + 10 * MIN) and marked(store, rollup_1h, first)  # untouched
    m = table(store, rollup_1m).filter(pl.col("ts") == minute).sort("host")
    assert m["count"].to_list() == [3, 2, 2] and m["max"].to_list()[0] == 1000.0
    h = table(store, rollup_1h).filter(pl.col("ts") == second).sort("host")
    assert h["count"].to_list() == [121, 120, 120] and h["max"].to_list()[0] == 1000.0

    # a batch over two minutes of different hours marks exactly those minutes; both hours update
    two = [
        Sample("m", labels_of(host="b"), first + 59 * MIN + 45_000, 1.0),
        Sample("m", labels_of(host="b"), second, 2.0),
    ]
    assert store.write(two).accepted == 2
    assert dirty(store) == {(MIN, first + 59 * MIN), (MIN, second)}
    assert 2 * 3 + 2 * 3 <= store.run_rollups() <= 2 * (3 * 60 + 3)
    assert not marked(store, rollup_1h, first)  # the first hour was dirty this time
    # rejected samples mark nothing
    store.write([Sample("m", labels_of(host="b"), first - 10 * HOUR, 1.0)])
    assert dirty(store) == set()


@pytest.mark.parametrize("width", [MIN, HOUR])
def test_rollup_of_a_minute_with_duplicates_in_one_batch(store: Store, width: int) -> None:
    lb = labels_of(host="a")
    store.write(
        [
            Sample("m", lb, T0_MS - MIN, 5.0),
            Sample("m", lb, T0_MS - MIN, 1.0),
            Sample("m", lb, T0_MS - 1, 3.0),
        ]
    )
    store.run_rollups()
    t = rollup_1m if width == MIN else rollup_1h
    assert table(store, t).drop("host").rows() == [(T0_MS - width, 1.0, 3.0, 4.0, 2, 3.0)]


def stored_rollups(store: Store) -> dict[str, pl.DataFrame]:
    """Both row tables and both resolutions' chunks (decoded), by series id and time."""
    out = {t.name: table(store, t) for t in (rollup_1m, rollup_1h)}
    with store.engine.connect() as conn:
        for resolution in (MIN, HOUR):
            q = (
                sa.select(rollup_chunks.c.series_id, rollup_chunks.c.data)
                .where(rollup_chunks.c.resolution == resolution)
                .order_by(rollup_chunks.c.series_id, rollup_chunks.c.start_ts)
            )
            out[f"chunks {resolution}"] = decode_many([tuple(r) for r in conn.execute(q)])
    return out


@pytest.mark.parametrize("tier", [True, False], ids=["1m-tier", "no-1m-tier"])
@pytest.mark.parametrize("pack_before", [None, T0_MS - 12 * HOUR], ids=["rows", "packed"])
def test_rollups_are_identical_when_raw_samples_are_read_in_slices(
    store: Store, tier: bool, pack_before: int | None
) -> None:
    """30 h of 8 series at 15 s (two day-long spans): read whole, then again in slices of ~500
    samples (an hour, in groups of two series, stored every slice or two), the same rollups
    (sums equal to the last bits: polars adds a group's values in an order of its own)."""
    rng = np.random.default_rng(17)
    hosts = [f"h{i}" for i in range(8)]
    ts = np.arange(T0_MS - 30 * HOUR, T0_MS - HOUR, 15_000)
    batch = [
        Sample("m", labels_of(host=h), int(t) + int(rng.integers(-20, 21)), float(rng.normal(0, 100)))
        for t in ts
        for h in hosts
    ]
    batch += batch[-50:-40]  # duplicates: the same values again
    assert store.write(batch).accepted == len(batch)
    if tier:
        force_tier(store)
    with store.engine.connect() as conn:
        marks = [dict(r._mapping) for r in conn.execute(sa.select(rollup_dirty))]
        intervals = dict(conn.execute(sa.select(series.c.id, series.c.interval_ms)).all())
    assert len(ts) * len(hosts) > 50 * 500  # many slices below

    whole = run_rollups(store.engine, pack_before, max_samples=SLICE_SAMPLES)
    first = stored_rollups(store)
    with store.engine.begin() as conn:  # back to before the run
        for t in (rollup_1m, rollup_1h, rollup_chunks):
            conn.execute(sa.delete(t))
        conn.execute(sa.insert(rollup_dirty), marks)
        for sid, ms in intervals.items():
            conn.execute(sa.update(series).where(series.c.id == sid).values(interval_ms=ms))
    sliced = run_rollups(store.engine, pack_before, max_samples=500)
    second = stored_rollups(store)

    assert sliced == whole > 0
    assert not first["rollup_1h" if pack_before is None else f"chunks {HOUR}"].is_empty()
    assert (not first["rollup_1m"].is_empty() or not first[f"chunks {MIN}"].is_empty()) == tier
    for name, frame in first.items():  # sums to the last bits (polars adds in an order of its own)
        assert second[name].drop("sum").equals(frame.drop("sum")), name
        np.testing.assert_allclose(
            second[name]["sum"].to_numpy(), frame["sum"].to_numpy(), rtol=1e-12, atol=1e-9
        )
