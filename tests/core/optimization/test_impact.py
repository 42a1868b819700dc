"""Measured before/after of an applied right-sizing, on a real store with known effects: requests
cut by 4x (cost and requests improve, usage does not change), and a server whose new CPU limit
throttles it (throttling gets worse). A window too short yet gives no verdict."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.optimization.impact import ImpactSettings, measure
from core.optimization.settings import PriceSettings
from core.storage.tsdb import Store, open_store

HOUR = 3_600_000
APPLIED = 1_790_000_000_000 - 1_790_000_000_000 % HOUR
STEP = 60_000  # one sample a minute


def write_server(store: Store, server: str, throttled_after: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lb = labels_of(server=server, host="h1", team="platform", session_id="s1")
    batch, restarts, throttled, periods = [], 0.0, 0.0, 0.0
    for ts in range(APPLIED - 72 * HOUR, APPLIED + 72 * HOUR, STEP):
        after = ts >= APPLIED
        usage = 0.5 + 0.1 * np.sin(ts / (6 * HOUR)) + rng.normal(0, 0.05)
        periods += 600
        throttled += 300 if (after and throttled_after) else rng.integers(0, 3)
        for metric, value in (
            ("container_cpu_usage_cores", usage),
            ("container_memory_working_set_bytes", 2**30 * (1 + rng.normal(0, 0.02))),
            ("container_cpu_request_cores", 1.0 if after else 4.0),
            ("container_memory_request_bytes", 2 * 2**30 if after else 8 * 2**30),
            ("container_restarts_total", restarts),
            ("container_oom_events_total", 0.0),
            ("container_cpu_cfs_periods_total", periods),
            ("container_cpu_cfs_throttled_periods_total", throttled),
        ):
            batch.append(Sample(metric, lb, ts, float(value)))
    store.write(batch)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root: Path = tmp_path_factory.mktemp("impact")
    s = open_store(load_settings(database_url=f"sqlite:///{root}/p.db", data_dir=root))
    write_server(s, "right-sized", throttled_after=False, seed=1)
    write_server(s, "squeezed", throttled_after=True, seed=2)
    yield s
    s.close()


def verdicts(store: Store, server: str, now_ms: int = APPLIED + 72 * HOUR) -> dict[str, dict[str, object]]:
    df = measure(store, server, APPLIED, now_ms, ImpactSettings(window_hours=72), PriceSettings())
    return {r["metric"]: r for r in df.to_dicts()}


def test_a_right_sizing_that_saved_money_without_hurting(store: Store) -> None:
    v = verdicts(store, "right-sized")
    assert v["cpu_request_cores"]["before"] == pytest.approx(4.0) and v["cpu_request_cores"][
        "after"
    ] == pytest.approx(1.0)
    assert v["cost_monthly"]["verdict"] == "improved" and v["cost_monthly"]["ci_high"] < 0  # type: ignore[operator]
    prices = PriceSettings()
    saved = (3.0 * prices.cpu_core_hour + 6.0 * prices.memory_gib_hour) * 730
    assert v["cost_monthly"]["change"] == pytest.approx(-saved)
    assert v["memory_request_gib"]["verdict"] == "improved"
    # the same work before and after: the interval of the change in usage holds zero
    assert v["cpu_usage_cores"]["verdict"] == "no change"
    assert v["cpu_usage_cores"]["ci_low"] < 0 < v["cpu_usage_cores"]["ci_high"]  # type: ignore[operator]
    assert v["restarts"]["verdict"] == "no change" and v["oom_kills"]["verdict"] == "no change"
    assert v["throttled_ratio"]["verdict"] == "no change"
    assert v["cpu_usage_cores"]["buckets_before"] == v["cpu_usage_cores"]["buckets_after"] == 72


def test_a_right_sizing_that_throttles_is_shown_worse(store: Store) -> None:
    v = verdicts(store, "squeezed")
    assert v["cost_monthly"]["verdict"] == "improved"
    assert v["throttled_ratio"]["verdict"] == "worse" and v["throttled_ratio"]["after"] == pytest.approx(0.5)


def test_too_early_to_tell(store: Store) -> None:
    assert measure(store, "right-sized", APPLIED, APPLIED + 3 * HOUR).is_empty()  # 3 of 6 buckets
    short = verdicts(store, "right-sized", now_ms=APPLIED + 8 * HOUR)
    assert (
        short["cpu_request_cores"]["buckets_after"] == 8
        and short["cpu_request_cores"]["verdict"] == "improved"
    )
