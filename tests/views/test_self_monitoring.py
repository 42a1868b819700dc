"""Self-monitoring read model on known figures: CPU share against the budget, memory, database
growth, rejects; and the budget line on the chart."""

from __future__ import annotations

import json
import time
from pathlib import Path

import polars as pl
import pytest

from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.kernel.times import MINUTE, TimeRange
from core.storage.tsdb import Store, open_store
from core.views import self_monitoring as sm

NOW = int(time.time() * 1000) // MINUTE * MINUTE
HOUR_MS = 3_600_000


@pytest.fixture
def store(tmp_path: Path) -> Store:
    # the clock half a minute after the last figures, however long the test run takes
    s = open_store(load_settings(database_url=f"sqlite:///{tmp_path}/p.db"), clock=lambda: NOW / 1000 + 30)
    yield s  # type: ignore[misc]
    s.close()


def record(store: Store, daemon_cpu_per_s: float, ui_cpu_per_s: float, cpus: int = 2) -> None:
    """Two hours of figures every 15 s, as the daemon and the UI record them."""
    batch: list[Sample] = []
    start = NOW - 2 * HOUR_MS
    for i, ts in enumerate(range(start, NOW + 1, 15_000)):
        secs = (ts - start) / 1000
        for role, rate, rss in (("daemon", daemon_cpu_per_s, 80e6), ("ui", ui_cpu_per_s, 300e6)):
            lb = labels_of(process=role, instance=f"box:{100 + len(role)}")
            batch += [
                Sample(sm.CPU, lb, ts, 5.0 + rate * secs),
                Sample(sm.MEMORY, lb, ts, rss),
                Sample(sm.CPUS, lb, ts, float(cpus)),
            ]
        batch.append(Sample("pulse_db_size_bytes", (), ts, 10e6 + 1e6 * secs / 3600))  # +1 MB/h
        batch.append(Sample("pulse_ingest_lag_seconds", (), ts, 0.25))
        batch.append(Sample("pulse_samples_rejected_total", labels_of(reason="too_old"), ts, float(i // 40)))
    store.write(batch)


def hours(n: float) -> TimeRange:
    return TimeRange("custom", NOW - int(n * HOUR_MS), NOW + 1, MINUTE)


def test_cpu_share_per_process_and_total_against_the_budget(store: Store) -> None:
    record(store, daemon_cpu_per_s=0.01, ui_cpu_per_s=0.03)  # 0.5 % and 1.5 % of two CPUs
    df = sm.cpu_share(store, hours(1))
    mean = {p: df.filter(df["process"] == p)["value"].mean() for p in ("daemon", "ui", "total")}
    assert mean["daemon"] == pytest.approx(0.005, rel=0.02)
    assert mean["ui"] == pytest.approx(0.015, rel=0.02)
    assert mean["total"] == pytest.approx(0.02, rel=0.02)
    s = sm.summary(store, hours(1))
    assert s.cpu_share == pytest.approx(0.02, rel=0.02)
    assert s.daemon_memory == 80e6 and s.ui_memory == 300e6
    assert s.growth_per_day == pytest.approx(24e6, rel=0.01)
    assert s.ingest_lag_s == 0.25
    assert s.rejected == pytest.approx(1.0 / 40 * 4 * 60, abs=2)  # one reject every 10 minutes


def test_over_budget_is_said(store: Store) -> None:
    record(store, daemon_cpu_per_s=0.05, ui_cpu_per_s=0.0)  # 2.5 % of two CPUs
    s = sm.summary(store, hours(1))
    assert s.within_budget is False and s.cpu_share == pytest.approx(0.025, rel=0.02)


def test_nothing_recorded_gives_empty_figures(store: Store) -> None:
    s = sm.summary(store, hours(1))
    assert s.cpu_share is None and s.within_budget is None and s.db_bytes is None and s.rejected == 0


def test_the_chart_draws_the_budget_line(store: Store) -> None:
    record(store, daemon_cpu_per_s=0.01, ui_cpu_per_s=0.01)
    fig = json.loads(sm.cpu_figure(sm.cpu_share(store, hours(1))).to_json())
    assert {t["name"] for t in fig["data"]} == {"daemon", "ui", "total"}
    (line,) = fig["layout"]["shapes"]
    assert line["y0"] == line["y1"] == sm.OVERHEAD_BUDGET
    assert "budget 2%" in fig["layout"]["annotations"][0]["text"]


def test_two_daemons_figures_are_shown_per_node_never_added_up(store: Store) -> None:
    """Scale-out: two daemons on one database, each labelling its figures with its node."""
    batch: list[Sample] = []
    start = NOW - HOUR_MS
    for ts in range(start, NOW + 1, 15_000):
        secs = (ts - start) / 1000
        for node, rate, rss, lag in (("node-a", 0.01, 80e6, 0.5), ("node-b", 0.03, 120e6, 2.0)):
            lb = labels_of(process="daemon", instance=f"{node}:1", node=node)
            batch += [
                Sample(sm.CPU, lb, ts, rate * secs),
                Sample(sm.MEMORY, lb, ts, rss),
                Sample(sm.CPUS, lb, ts, 2.0),
                Sample("pulse_ingest_lag_seconds", labels_of(node=node), ts, lag),
                Sample("pulse_job_duration_seconds", labels_of(job="flush", node=node), ts, lag / 10),
                Sample("pulse_db_size_bytes", labels_of(node=node), ts, 10e6),  # one database, seen twice
            ]
    store.write(batch)
    cpu = sm.cpu_share(store, hours(0.5))
    mean = {p: cpu.filter(cpu["process"] == p)["value"].mean() for p in cpu["process"].unique()}
    assert set(mean) == {"daemon on node-a", "daemon on node-b", "total"}
    assert mean["daemon on node-a"] == pytest.approx(0.005, rel=0.02)
    assert mean["daemon on node-b"] == pytest.approx(0.015, rel=0.02)
    mem = sm.memory(store, hours(0.5))
    assert {p: mem.filter(mem["process"] == p)["value"].max() for p in mem["process"].unique()} == {
        "daemon on node-a": 80e6,
        "daemon on node-b": 120e6,
    }
    lag = sm.series(store, hours(0.5), "pulse_ingest_lag_seconds")
    assert {n: lag.filter(lag["node"] == n)["value"].max() for n in lag["node"].unique()} == {
        "node-a": 0.5,
        "node-b": 2.0,
    }
    jobs = sm.series(store, hours(0.5), "pulse_job_duration_seconds", ("job",))
    assert set(jobs["job"].unique()) == {"flush on node-a", "flush on node-b"}
    s = sm.summary(store, hours(0.5))
    assert s.db_bytes == 10e6  # the shared database once, not twice
    assert s.daemon_memory == 200e6 and s.ingest_lag_s == 2.0  # all daemons; the worst lag


def young(
    store: Store, minutes: float, cpu_per_s: float, started: bool = True, process: str = "daemon"
) -> None:
    """A ``process`` ``minutes`` old on two CPUs: its figures every 15 s since it started, the
    database growing 50 MB a minute (what a start's catch-up looks like), its start time when
    ``started``."""
    t0 = NOW - int(minutes * 60_000)
    lb = labels_of(process=process, instance=f"box:{process}")
    batch: list[Sample] = []
    for ts in range(t0, NOW + 1, 15_000):
        secs = (ts - t0) / 1000
        batch += [Sample(sm.CPU, lb, ts, 2.0 + cpu_per_s * secs), Sample(sm.CPUS, lb, ts, 2.0)]
        batch.append(Sample("pulse_db_size_bytes", (), ts, 10e6 + 50e6 * secs / 60))
        if started:
            batch.append(Sample(sm.STARTED, lb, ts, t0 / 1000 - 5))
    store.write(batch)


def test_growth_needs_an_hour_of_size_history() -> None:
    minute = pl.DataFrame({"ts": [NOW - 60_000, NOW], "value": [1e6, 4e6]}).with_columns(
        pl.col("ts").cast(pl.Datetime("ms", "UTC"))
    )
    g = sm.growth_per_day(minute)
    assert (g.per_day, g.span_s, g.needed_s) == (None, 60.0, sm.MIN_GROWTH_SPAN_S)
    hour = minute.with_columns(pl.Series("ts", [NOW - HOUR_MS, NOW]).cast(pl.Datetime("ms", "UTC")))
    assert sm.growth_per_day(hour).per_day == pytest.approx(3e6 * 24)
    assert sm.growth_per_day(minute.clear()).per_day is None


def test_a_young_daemon_shows_no_growth_yet_and_is_warming_up(store: Store) -> None:
    young(store, minutes=3, cpu_per_s=0.2)  # 10 % of two CPUs: a start's catch-up
    s = sm.summary(store, hours(1))
    assert s.db_bytes is not None and s.growth_per_day is None
    assert 60 <= s.growth.span_s <= 180  # the history there is, in minute buckets
    assert s.cpu_share == pytest.approx(0.1, rel=0.05)
    assert s.within_budget is None and s.warming_up_s is not None
    assert 60 <= s.warming_up_s < sm.WARMUP_S


def test_past_the_warm_up_the_budget_is_judged_and_growth_extrapolated(store: Store) -> None:
    young(store, minutes=90, cpu_per_s=0.2)
    s = sm.summary(store, hours(1))
    assert s.warming_up_s is None and s.within_budget is False
    assert s.growth_per_day == pytest.approx(50e6 * 60 * 24, rel=0.01)  # 90 min in the last day
    assert s.growth.span_s >= sm.MIN_GROWTH_SPAN_S


def test_without_a_recorded_start_time_the_budget_is_judged_as_before(store: Store) -> None:
    young(store, minutes=3, cpu_per_s=0.2, started=False)
    s = sm.summary(store, hours(1))
    assert s.warming_up_s is None and s.within_budget is False


def test_a_dashboard_just_started_beside_an_old_daemon_is_warming_up_too(store: Store) -> None:
    young(store, minutes=90, cpu_per_s=0.001)
    young(store, minutes=2, cpu_per_s=0.3, process="ui")  # a dashboard loading its libraries
    s = sm.summary(store, hours(1))
    assert s.within_budget is None and s.warming_up_s is not None and s.warming_up_s < sm.WARMUP_S
