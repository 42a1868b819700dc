"""Property tests (hypothesis) of the store against a plain-Python model.

1. Whatever batches are written (random series of a small label space, random timestamps in the
   window, random finite values, duplicates included), reads return the last written value per
   (series, timestamp).
2. Interleaving writes (including late, future and too-old samples), clock moves, compaction and
   rollups: the store accepts and rejects exactly what the model does, raw reads equal the model
   and the rollups equal a recomputation from it.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.storage.schema import series
from core.storage.tsdb.rollup import read_rollup_current
from core.storage.tsdb.store import Store, open_store
from tests.conftest import T0_MS, FakeClock, PgSchemas

Key = tuple[str, tuple[tuple[str, str], ...], int]

label_sets = st.builds(
    lambda host, zone: labels_of(host=host, zone=zone),
    st.sampled_from("abc"),
    st.sampled_from([None, "z1", "z2"]),
)
timestamps = st.one_of(
    st.integers(0, 40).map(lambda k: T0_MS - k * 1000),  # a few timestamps, so duplicates are common
    st.integers(T0_MS - 30 * 60_000, T0_MS),
)
values = st.floats(allow_nan=False, allow_infinity=False)
samples = st.builds(Sample, st.sampled_from(["m1", "m2"]), label_sets, timestamps, values)
batches = st.lists(st.lists(samples, max_size=40), min_size=1, max_size=6)


@contextlib.contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="pulse-prop-") as tmp:
        yield f"sqlite:///{tmp}/pulse.db"


@contextlib.contextmanager
def opened(
    url_cm: contextlib.AbstractContextManager[str], clock: Callable[[], float], **kw: Any
) -> Iterator[Store]:
    with url_cm as url:
        store = open_store(load_settings(database_url=url, **kw), clock=clock)
        try:
            yield store
        finally:
            store.close()


def read_back_select(store: Store, metric: str) -> dict[Key, float]:
    df = store.select(metric, T0_MS - 3_600_000, T0_MS + 1, step_ms=1, over_time="last", resolution="raw")
    names = [c for c in df.columns if c not in ("ts", "value")]
    out = {}
    for row in df.iter_rows(named=True):
        lb = tuple(sorted((k, row[k]) for k in names if row[k] is not None))
        out[(metric, lb, int(row["ts"].timestamp() * 1000))] = row["value"]
    return out


def read_back_raw(store: Store, metric: str) -> dict[Key, float]:
    found = store.series(metric)
    lbs = {sid: tuple(sorted(lb.items())) for sid, lb in zip(found["id"], found["labels"], strict=True)}
    return {(metric, lbs[s], t): v for s, t, v in store.raw(list(lbs), 0, 2**62).iter_rows()}


def read_back_series(store: Store, metric: str) -> dict[Key, float]:
    """As :func:`read_back_raw` through ``Store.raw_series`` (the PromQL engine's read)."""
    found = store.series(metric)
    lbs = {sid: tuple(sorted(lb.items())) for sid, lb in zip(found["id"], found["labels"], strict=True)}
    out = {}
    for sid, (ts, values) in store.raw_series(list(lbs), 0, 2**62).items():
        assert (ts[1:] > ts[:-1]).all(), "raw_series must be sorted by time without duplicates"
        out |= {(metric, lbs[sid], t): v for t, v in zip(ts.tolist(), values.tolist(), strict=True)}
    return out


def check_last_write_wins(store: Store, written: list[list[Sample]]) -> None:
    model: dict[Key, float] = {}
    for batch in written:
        res = store.write(batch)
        assert res.accepted == len(batch) and not res.rejected
        model.update({(s.metric, s.labels, s.ts): s.value for s in batch})
    for metric in ("m1", "m2"):
        want = {k: v for k, v in model.items() if k[0] == metric}
        assert read_back_select(store, metric) == want
        assert read_back_raw(store, metric) == want
        assert read_back_series(store, metric) == want


@settings(max_examples=60, deadline=None)
@given(batches)
def test_reads_return_the_last_write_per_series_and_timestamp_sqlite(written: list[list[Sample]]) -> None:
    with opened(sqlite_url(), FakeClock()) as store:
        check_last_write_wins(store, written)


@pytest.mark.postgres
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(written=batches)
def test_reads_return_the_last_write_per_series_and_timestamp_postgresql(
    pg_schemas: PgSchemas, written: list[list[Sample]]
) -> None:
    with opened(pg_schemas.fresh(), FakeClock()) as store:
        check_last_write_wins(store, written)


# -- a model of the whole write path with maintenance ------------------------------------

WINDOW_S, TOLERANCE_S, CHUNK_S = 120, 10, 60
model_values = st.floats(-1e6, 1e6)  # sums of a minute stay comparable with a small tolerance


class Model:
    """What the store should hold: accepted samples (last write wins) and each series' head."""

    def __init__(self) -> None:
        self.points: dict[Key, float] = {}
        self.heads: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}

    def write(self, batch: list[Sample], now_ms: int) -> Counter[str]:
        rejected: Counter[str] = Counter()
        accepted = []
        for s in batch:
            head = self.heads.get((s.metric, s.labels))
            if s.ts > now_ms + TOLERANCE_S * 1000:
                rejected["future"] += 1
            elif head is not None and s.ts < head - WINDOW_S * 1000:
                rejected["too_old"] += 1
            else:
                accepted.append(s)
        for s in accepted:  # heads move after the whole batch
            self.points[(s.metric, s.labels, s.ts)] = s.value
            key = (s.metric, s.labels)
            self.heads[key] = max(self.heads.get(key, s.ts), s.ts)
        return rejected


@st.composite
def operations(draw: st.DrawFn, windows: int = 1) -> list[tuple[str, Any]]:
    """Writes, clock moves, compactions and rollup runs; each batch spans ``windows`` chunk windows."""
    width = windows * CHUNK_S * 1000
    ops: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["write", "write", "write", "advance", "compact", "rollups"]))
        if kind == "write":
            # a batch starts at a chunk window relative to the clock at run time; coarse offsets
            # make overwrites of earlier batches likely
            back = draw(st.integers(-1, 6))
            offset = st.one_of(
                st.integers(0, width // 5000 - 1).map(lambda k: k * 5000), st.integers(0, width - 1)
            )
            offsets = draw(st.lists(offset, min_size=1, max_size=25))
            chosen = draw(
                st.lists(
                    st.tuples(st.sampled_from(["m1", "m2"]), label_sets, model_values),
                    min_size=len(offsets),
                    max_size=len(offsets),
                )
            )
            ops.append(
                ("write", (back, [(m, lb, off, v) for off, (m, lb, v) in zip(offsets, chosen, strict=True)]))
            )
        elif kind == "advance":
            ops.append(("advance", draw(st.integers(0, 200))))
        else:
            ops.append((kind, None))
    return ops


def rollups_of(points: dict[Key, float], store: Store) -> pl.DataFrame:
    ids = {}
    for metric in ("m1", "m2"):
        found = store.series(metric)
        ids |= {
            (metric, tuple(sorted(lb.items()))): sid
            for sid, lb in zip(found["id"], found["labels"], strict=True)
        }
    raw = pl.DataFrame(
        [(ids[(m, lb)], t, v) for (m, lb, t), v in points.items()],
        schema={"series_id": pl.Int64, "ts": pl.Int64, "value": pl.Float64},
        orient="row",
    ).sort("series_id", "ts")
    v = pl.col("value")
    return (
        raw.group_by("series_id", (pl.col("ts") - pl.col("ts") % 60_000).alias("b"))
        .agg(
            v.min().alias("min"),
            v.max().alias("max"),
            v.sum().alias("sum"),
            pl.len().cast(pl.Int64).alias("count"),
            v.last().alias("last"),
        )
        .rename({"b": "ts"})
        .sort("series_id", "ts")
    )


def check_model(store: Store, clock: FakeClock, ops: list[tuple[str, Any]]) -> None:
    model = Model()
    for kind, arg in ops:
        if kind == "write":
            back, parts = arg
            window_start = (clock.ms // (CHUNK_S * 1000) - back) * CHUNK_S * 1000
            batch = [Sample(m, lb, window_start + off, v) for m, lb, off, v in parts]
            want = model.write(batch, clock.ms)
            res = store.write(batch)
            assert res.rejected == want and res.accepted == len(batch) - want.total()
        elif kind == "advance":
            clock.advance(arg)
        elif kind == "compact":
            store.compact()
        else:
            store.run_rollups()
    for metric in ("m1", "m2"):
        want = {k: v for k, v in model.points.items() if k[0] == metric}
        assert read_back_raw(store, metric) == want
        assert read_back_series(store, metric) == want
    store.run_rollups()
    # as readers see them: series whose interval is over 6 s have no stored 1 m rows (tiers.py),
    # their minutes are computed from raw samples
    with store.engine.connect() as conn:
        ids = [int(sid) for sid in conn.execute(sa.select(series.c.id)).scalars()]
        got = read_rollup_current(conn, 60_000, ids, T0_MS - 86_400_000, T0_MS + 86_400_000)
    got = got.sort("series_id", "ts")
    want = rollups_of(model.points, store)
    if want.is_empty():
        assert got.is_empty()
        return
    assert got.select("series_id", "ts", "count").rows() == want.select("series_id", "ts", "count").rows()
    assert got["min"].to_list() == want["min"].to_list() and got["max"].to_list() == want["max"].to_list()
    assert got["last"].to_list() == want["last"].to_list()
    assert got["sum"].to_list() == pytest.approx(want["sum"].to_list(), rel=1e-9, abs=1e-6)


MODEL_SETTINGS = {
    "ingest": {"out_of_order_window_s": WINDOW_S, "future_tolerance_s": TOLERANCE_S, "chunk_seconds": CHUNK_S}
}


@settings(max_examples=40, deadline=None)
@given(operations())
def test_store_follows_the_model_through_compaction_and_rollups_sqlite(ops: list[tuple[str, Any]]) -> None:
    clock = FakeClock()
    with opened(sqlite_url(), clock, **MODEL_SETTINGS) as store:
        check_model(store, clock, ops)


@pytest.mark.postgres
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations())
def test_store_follows_the_model_through_compaction_and_rollups_postgresql(
    pg_schemas: PgSchemas, ops: list[tuple[str, Any]]
) -> None:
    clock = FakeClock()
    with opened(pg_schemas.fresh(), clock, **MODEL_SETTINGS) as store:
        check_model(store, clock, ops)
