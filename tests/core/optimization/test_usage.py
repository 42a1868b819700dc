"""Bulk usage reads against real stores (SQLite and PostgreSQL): figures checked against numpy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from core.kernel.samples import Sample, labels_of
from core.optimization.settings import UsageSettings
from core.optimization.usage import read_usage
from core.storage.tsdb import Store
from tests.conftest import T0_MS

H, STEP = 3_600_000, 60_000
HOURS = 10


def write(store: Store) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(5)
    ts = T0_MS + STEP * np.arange(HOURS * 60)
    truth: dict[str, dict[str, np.ndarray]] = {}
    samples = []
    for k, server in enumerate(("a", "b")):
        lb = labels_of(server=server, host=f"h{k}", team="t", session_id=f"s{k}")
        cpu = np.round(0.1 + 0.05 * k + rng.uniform(0, 0.1, ts.size), 4)
        mem = np.round(1e8 * (1 + k) + rng.uniform(0, 1e7, ts.size))
        restarts = np.where(ts < T0_MS + 5 * H, 0.0, 1.0) if k == 0 else np.zeros(ts.size)
        restarts[ts >= T0_MS + 7 * H] = 0.0  # a new container: the counter starts again
        periods = 600.0 * np.arange(ts.size)
        throttled = 60.0 * np.arange(ts.size) * k
        truth[server] = {"cpu": cpu, "mem": mem}
        for t, c, m, r, p, th in zip(ts, cpu, mem, restarts, periods, throttled, strict=True):
            samples += [
                Sample("container_cpu_usage_cores", lb, int(t), float(c)),
                Sample("container_memory_working_set_bytes", lb, int(t), float(m)),
                Sample("container_restarts_total", lb, int(t), float(r)),
                Sample("container_cpu_cfs_periods_total", lb, int(t), float(p)),
                Sample("container_cpu_cfs_throttled_periods_total", lb, int(t), float(th)),
                Sample("container_cpu_request_cores", lb, int(t), 0.5),
                Sample("container_memory_limit_bytes", lb, int(t), 4e8 if t < T0_MS + 9 * H else 6e8),
            ]
    store.write(samples)
    store.run_rollups()
    return truth


@pytest.fixture
def store(make_store: Callable[..., Store], clock: object) -> Store:
    s = make_store()
    clock.advance(HOURS * 3600 + 600)  # type: ignore[attr-defined]
    return s


def test_read_usage_matches_the_raw_samples(store: Store) -> None:
    truth = write(store)
    end = T0_MS + HOURS * H
    got = read_usage(store, end, UsageSettings(window_days=1, step_s=3600)).rows_by_key("server", named=True)
    assert set(got) == {"a", "b"}
    for server, t in truth.items():
        row = got[server][0]
        hourly = t["cpu"].reshape(HOURS, 60).mean(axis=1)
        assert row["points"] == HOURS * 60
        assert row["cpu_peak"] == pytest.approx(t["cpu"].max())
        assert row["memory_peak"] == pytest.approx(t["mem"].max())
        assert row["cpu_p95"] == pytest.approx(np.quantile(hourly, 0.95))
        assert row["last_ms"] - row["first_ms"] == HOURS * H
        assert row["cpu_request"] == 0.5 and row["memory_limit"] == 6e8  # the latest value
        assert row["memory_request"] is None  # never reported: unknown, not zero
    assert got["a"][0]["restarts"] == 1.0 and got["b"][0]["restarts"] == 0.0
    assert got["b"][0]["throttled_periods"] / got["b"][0]["periods"] == pytest.approx(0.1)
    assert got["a"][0]["throttled_periods"] == 0.0


def test_nothing_in_the_window_gives_an_empty_frame(store: Store) -> None:
    write(store)
    assert read_usage(store, T0_MS - 30 * 24 * H, UsageSettings(window_days=1)).is_empty()
