"""A daemon a minute old already shows in the views whose steps are minutes (6 h and longer):
the range ends just before now, and the minutes not rolled up yet are computed from raw samples."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.kernel.times import MINUTE, TimeSpec
from core.storage.tsdb import Store, open_store
from core.views import Filters, health


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(load_settings(database_url=f"sqlite:///{tmp_path}/p.db"))
    yield s  # type: ignore[misc]
    s.close()


@pytest.mark.parametrize("preset", ["6h", "24h"])
def test_samples_of_the_last_two_minutes_show_before_any_rollup_run(store: Store, preset: str) -> None:
    now = int(time.time() * 1000)
    first = now - 2 * MINUTE
    samples = [
        Sample(metric, labels_of(host="new"), ts, value)
        for ts in range(first, now, 5_000)
        for metric, value in (("host_up", 1.0), ("host_cpu_utilization_ratio", 0.25))
    ]
    assert not store.write(samples).rejected
    tr = TimeSpec(preset).resolve(now)
    assert tr.step_ms >= MINUTE
    cpu = health.host_series(store, tr, Filters(), "cpu").drop_nulls("value")
    assert cpu.height >= 1, f"nothing between {tr.start_ms} and {tr.end_ms} for samples from {first}"
    assert cpu["value"].to_list() == pytest.approx([0.25] * cpu.height)
    assert cpu["ts"].dt.epoch("ms").max() >= first - tr.step_ms
