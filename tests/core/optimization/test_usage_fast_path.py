"""The usage read summarises each bucket read on its own, per series id, and labels the
per-container summaries at the end; the general path (used when a container has several series)
summarises buckets carrying label columns; the previous computation joined every bucket of every
read first. On a random fleet with gaps (hours without memory samples, containers with CPU or
memory only, counter resets), on SQLite and PostgreSQL, all three must give the same usage rows
and the same recommendations, value for value."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.kernel.samples import Sample, labels_of
from core.kernel.selector import Selector
from core.kernel.settings import load_settings
from core.optimization import usage as u
from core.optimization.rightsizing import recommend, to_frame
from core.optimization.settings import UsageSettings
from core.optimization.strategies import make_strategy
from core.storage.tsdb import Store, open_store
from core.views import Filters

HOUR, STEP = 3_600_000, 300_000
END = 1_790_000_000_000 - 1_790_000_000_000 % HOUR
HOURS = 30


def _previous(reader: Store, end_ms: int, settings: UsageSettings) -> pl.DataFrame:
    """The computation before the fast path: every bucket of the four reads joined, then grouped."""
    f, step = Filters(), settings.step_s * 1000
    start = end_ms - int(settings.window_days * 86_400_000)
    start = end_ms - -(-(end_ms - start) // step) * step
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = [pool.submit(u._bucket, reader, n, start, end_ms, step, f).result() for n in u.BUCKET_READS]
    b = parts[0]
    for df in parts[1:]:
        b = b.join(df, on=["ts", *u.KEYS], how="full", coalesce=True, nulls_equal=True)
    qs = [pl.col("cpu_avg").quantile(q, "linear").alias(f"cpu_p{round(q * 100)}") for q in u.QUANTILES]
    qs += [pl.col("memory_max").quantile(q, "linear").alias(f"memory_p{round(q * 100)}") for q in u.QUANTILES]
    out = b.group_by(u.KEYS).agg(
        pl.col("points").sum().cast(pl.Int64),
        pl.col("ts").min().dt.epoch("ms").alias("first_ms"),
        (pl.col("ts").max().dt.epoch("ms") + step).alias("last_ms"),
        *qs,
        pl.col("cpu_max").max().alias("cpu_peak"),
        pl.col("memory_max").max().alias("memory_peak"),
    )
    for name, metric in u.SPEC.items():
        out = out.join(u._latest(reader, metric, end_ms, f).rename({"value": name}), on="server", how="left")
    for name, metric in u.COUNTERS.items():
        got = u._increase(reader, metric, start, end_ms, f).rename({"value": name})
        out = out.join(got, on="server", how="left")
    return out.select(list(u.USAGE_SCHEMA)).cast(pl.Schema(u.USAGE_SCHEMA)).sort("server")


def _fleet(store: Store, rng: np.random.Generator, twin: bool, n: int = 40) -> None:
    batch = []
    twin_lb = labels_of(server="srv-00", host="h0", team="t0", session_id="s0", replica="b")
    for i in range(n):
        lb = labels_of(server=f"srv-{i:02d}", host=f"h{i % 4}", team=f"t{i % 3}", session_id=f"s{i % 7}")
        kind = rng.choice(["both", "both", "both", "cpu-only", "memory-only"])
        level, burst = rng.uniform(0.05, 2), rng.uniform(1, 4)
        restarts = 0.0
        gap = set(rng.choice(HOURS, size=rng.integers(0, 6), replace=False).tolist())
        for ts in range(END - HOURS * HOUR, END, STEP):
            hour = (END - ts - 1) // HOUR
            cpu = level * (1 + 0.3 * np.sin(ts / 7e6)) * (burst if rng.random() < 0.05 else 1)
            if kind != "memory-only":
                batch.append(Sample(u.CPU, lb, ts, float(cpu)))
            if twin and i == 0:  # a second CPU series of one container (another label): merged
                batch.append(Sample(u.CPU, twin_lb, ts, float(cpu) * rng.uniform(0.5, 1.5)))
            if kind != "cpu-only" and hour not in gap:
                batch.append(Sample(u.MEMORY, lb, ts, float(rng.uniform(0.2, 1.5) * 2**30)))
            restarts = 0.0 if rng.random() < 0.01 else restarts + float(rng.random() < 0.02)
            batch.append(Sample(u.COUNTERS["restarts"], lb, ts, restarts))
            for name, value in (("cpu_request", 4.0), ("memory_request", 2.0 * 2**30)):
                batch.append(Sample(u.SPEC[name], lb, ts, value * (1 + i % 2)))
    store.write(batch)


PG = pytest.mark.postgres


@pytest.fixture(
    scope="module",
    params=[
        ("sqlite", False),
        ("sqlite", True),
        pytest.param(("postgresql", False), marks=PG),
        pytest.param(("postgresql", True), marks=PG),
    ],
    ids=["sqlite", "sqlite-twin", "postgresql", "postgresql-twin"],
)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root: Path = tmp_path_factory.mktemp("usage-fast")
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{root}/p.db"
        backend, twin = request.param
        if backend == "postgresql":
            url = stack.enter_context(request.getfixturevalue("pg_schemas").fresh())
        s = open_store(load_settings(database_url=url, data_dir=root), clock=lambda: END / 1000)
        _fleet(s, np.random.default_rng(12), twin)
        s.twin = twin  # type: ignore[attr-defined]
        s.run_rollups()
        yield s
        s.close()


@pytest.mark.parametrize("step_s", [3600, 900])
def test_fast_path_gives_the_general_and_previous_usage_and_recommendations(
    store: Store, step_s: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = UsageSettings(window_days=1, step_s=step_s)
    taken: list[bool] = []
    by_series = u._summaries_by_series

    def spy(*args: object) -> object:
        got = by_series(*args)  # type: ignore[arg-type]
        taken.append(got is not None)
        return got

    monkeypatch.setattr(u, "_summaries_by_series", spy)
    fast = u.read_usage(store, END, settings)
    # the CPU read falls back to the general path when a container has two CPU series
    assert sorted(taken) == ([False, True] if store.twin else [True, True])  # type: ignore[attr-defined]
    monkeypatch.setattr(u, "_summaries_by_series", lambda *a: None)
    general = u.read_usage(store, END, settings)
    before = _previous(store, END, settings)
    kinds = set(before["memory_peak"].is_null().to_list()) | set(before["cpu_p95"].is_null().to_list())
    assert fast.height == 40 and kinds == {True, False}  # the fleet has CPU-only and memory-only rows
    assert_frame_equal(fast, general)
    assert_frame_equal(fast.sort(u.KEYS), before.sort(u.KEYS))
    for name in ("simple", "simple-limit", "memory-percentile"):
        strategy = make_strategy(name)
        assert_frame_equal(
            to_frame(recommend(fast, strategy, step_s=step_s)),
            to_frame(recommend(before, strategy, step_s=step_s)),
        )
        assert_frame_equal(
            to_frame(recommend(fast, strategy, step_s=step_s)),
            to_frame(recommend(general, strategy, step_s=step_s)),
        )


def test_a_metric_without_series_gives_usage_without_its_figures(store: Store) -> None:
    """A bucket read of a metric with no series (here: no CPU at all, the read with three
    aggregations) is empty with its columns, not an error."""
    settings = UsageSettings(window_days=1)
    full = u.read_usage(store, END, settings).filter(pl.col("memory_peak").is_not_null())
    no_cpu = u.read_usage(_Without(store, u.CPU), END, settings)
    assert no_cpu["cpu_p95"].null_count() == no_cpu.height > 0 and no_cpu["points"].sum() == 0
    cols = ("server", "memory_p95", "memory_peak")
    assert_frame_equal(no_cpu.select(cols), full.select(cols))


class _Without:
    """A Reader of ``store`` on which ``metric`` has no series."""

    def __init__(self, store: Store, metric: str) -> None:
        self.store, self.metric = store, metric

    def now_ms(self) -> int:
        return self.store.now_ms()

    def select(self, selector: Selector, start_ms: int, end_ms: int, **kw: object) -> pl.DataFrame:
        gone = Selector("no_such_metric") if selector.metric == self.metric else selector
        return self.store.select(gone, start_ms, end_ms, **kw)

    def series(self, selector: Selector) -> pl.DataFrame:
        gone = Selector("no_such_metric") if selector.metric == self.metric else selector
        return self.store.series(gone)
