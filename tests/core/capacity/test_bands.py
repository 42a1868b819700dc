"""Anomaly bands of host series: the scripted spike is flagged, the clean host is not."""

from __future__ import annotations

import math

import polars as pl
import pytest

from core.capacity import charts as cap_charts
from core.capacity.bands import host_bands
from core.charts import line
from core.kernel.samples import Sample, labels_of
from core.kernel.times import TimeRange
from core.storage.tsdb import Store
from core.views import ALL, Filters
from tests.conftest import T0_MS

DAY_MS, STEP = 86_400_000, 300_000
END = T0_MS  # the fake clock's now: midnight UTC (future samples are rejected)
SPIKE = (END - 2 * 3_600_000, END - 3_600_000)  # the last day's 22:00-23:00: CPU at 95 %


@pytest.fixture
def filled(store: Store) -> Store:
    batch = []
    for ts in range(END - 8 * DAY_MS, END, STEP):
        wave = 0.4 + 0.2 * math.sin(2 * math.pi * (ts % DAY_MS) / DAY_MS) + 0.01 * math.sin(ts / 7e5)
        for host in ("web-1", "web-2"):
            value = 0.95 if host == "web-1" and SPIKE[0] <= ts < SPIKE[1] else wave
            batch.append(Sample("host_cpu_utilization_ratio", labels_of(host=host), ts, value))
    store.write(batch)
    return store


def test_the_spike_is_anomalous_and_the_clean_host_is_not(filled: Store) -> None:
    tr = TimeRange("24h", END - DAY_MS, END, STEP)
    bands = host_bands(filled, tr, ALL, "host_cpu_utilization_ratio")
    assert set(bands["host"]) == {"web-1", "web-2"}
    assert bands["ts"].min() >= pl.Series([END - DAY_MS - 900_000]).cast(pl.Datetime("ms", "UTC"))[0]
    odd = bands.filter(pl.col("anomalous"))
    assert set(odd["host"]) == {"web-1"}
    spike_ms = odd["ts"].dt.epoch("ms")
    assert spike_ms.min() >= SPIKE[0] and spike_ms.max() < SPIKE[1]
    clean = bands.filter(pl.col("host") == "web-2")
    inside = (clean["value"] >= clean["lower"]) & (clean["value"] <= clean["upper"])
    assert inside.all()
    only = host_bands(filled, tr, Filters(hosts=("web-2",)), "host_cpu_utilization_ratio")
    assert set(only["host"]) == {"web-2"}


def test_too_little_history_gives_no_band(filled: Store) -> None:
    tr = TimeRange("1h", END - 3_600_000, END, STEP)
    assert host_bands(filled, tr, ALL, "host_cpu_utilization_ratio", history_days=1).is_empty()


def test_bands_sit_behind_the_lines_and_crosses_on_top(filled: Store) -> None:
    tr = TimeRange("24h", END - DAY_MS, END, STEP)
    df = filled.select(
        "host_cpu_utilization_ratio", tr.start_ms, tr.end_ms, step_ms=STEP, by=("host",), across="max"
    )
    fig = cap_charts.add_bands(
        line(df, "CPU", "ratio"), host_bands(filled, tr, ALL, "host_cpu_utilization_ratio")
    )
    names = [t.name for t in fig.data]
    assert names[:2] == ["web-1 normal band", "web-2 normal band"] and names[-1] == "anomaly"
    assert {"web-1", "web-2"} <= set(names[2:-1])
