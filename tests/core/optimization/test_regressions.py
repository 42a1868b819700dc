"""Change points: the demo's scripted regression is found and tied to its deploy; noise gives none."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from collectors.demo import DemoCollector, incident_windows
from core.optimization.deploys import EVENT_SCHEMA
from core.optimization.regressions import RegressionSettings, detect, find_regressions
from core.storage.tsdb import Store
from tests.core.optimization.conftest import END, START, STEP_S, WEEK1_END

STEP_MS = STEP_S * 1000


def synthetic(seed: int, days: int = 14, jump_at: int | None = None, factor: float = 3.0) -> pl.DataFrame:
    """tool_buckets-like rows of one tool: weekly seasonality, smooth and white noise, an optional jump."""
    rng = np.random.default_rng(seed)
    ts = START + STEP_MS * np.arange(days * 288)
    hour = (ts // 3_600_000) % 24
    weekend = ((ts // 86_400_000 + 3) % 7) >= 5
    load = np.where(weekend, 0.3, 1.0) * np.where((hour >= 8) & (hour < 19), 1.0, 0.15)
    wander = np.repeat(rng.normal(0, 0.08, ts.size // 3 + 1), 3)[: ts.size]
    p95 = 0.2 * (1 + 0.3 * load) * np.exp(wander + rng.normal(0, 0.1, ts.size))
    if jump_at is not None:
        p95[jump_at : jump_at + 288] *= factor
    calls = rng.poisson(30 * load + 1).astype(float)
    errors = rng.binomial(calls.astype(int), 0.01).astype(float)
    return pl.DataFrame(
        {
            "ts": [datetime.fromtimestamp(t / 1000, UTC) for t in ts],
            "server": "s1",
            "gen_ai_tool_name": "t1",
            "calls": calls,
            "errors": errors,
            "p95": p95,
        }
    )


NO_EVENTS = pl.DataFrame(schema=EVENT_SCHEMA)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_finding_on_seasonal_noise(seed: int) -> None:
    assert detect(synthetic(seed), NO_EVENTS) == []


def test_a_synthetic_jump_is_found_where_it_is() -> None:
    at = 5 * 288 + 130
    found = detect(synthetic(7, jump_at=at), NO_EVENTS)
    lat = [r for r in found if r.metric == "p95_latency"]
    assert len(lat) == 1 and lat[0].cause is None
    start = int(START + STEP_MS * at)
    assert abs(lat[0].start_ms - start) <= 3 * STEP_MS and lat[0].ratio > 2
    assert lat[0].end_ms is not None and abs(lat[0].end_ms - (start + 288 * STEP_MS)) <= 3 * STEP_MS


@pytest.fixture(scope="module")
def findings(history: Store) -> list:
    return find_regressions(history, END, RegressionSettings(window_days=14))


def test_scripted_regression_found_within_15_minutes_and_tied_to_its_deploy(
    findings: list, demo: DemoCollector
) -> None:
    windows = [w for w in incident_windows(START, END) if w[0].kind == "latency_regression"]
    assert len(windows) == 2  # once a week
    _, server_idx, _ = demo.topology.target_of(windows[0][0])
    assert server_idx is not None
    server = demo.topology.servers[server_idx].name
    lat = [r for r in findings if r.metric == "p95_latency"]
    for _, begin, end in windows:
        hits = [r for r in lat if r.server == server and abs(r.start_ms - begin) <= 15 * 60_000]
        assert hits, f"no finding near {begin} on {server}: {[(r.server, r.start_ms) for r in lat]}"
        for r in hits:
            assert r.cause == "deploy" and r.cause_ms is not None and abs(r.cause_ms - begin) <= 15 * 60_000
            assert r.ratio > 2 and r.end_ms is not None and abs(r.end_ms - end) <= 15 * 60_000
            assert {"ts_ms", "value", "baseline"} <= set(r.chart.columns) and r.chart.height > 1000
    # every other server's latency is seasonal noise: nothing found there
    assert {r.server for r in lat} == {server}


def test_error_spike_found_without_a_deploy(findings: list, demo: DemoCollector) -> None:
    windows = [w for w in incident_windows(START, WEEK1_END) if w[0].kind == "error_spike"]
    _, server_idx, tool_idx = demo.topology.target_of(windows[0][0])
    assert server_idx is not None and tool_idx is not None
    server, tool = demo.topology.servers[server_idx].name, demo.topology.tools[tool_idx][1]
    errs = [r for r in findings if r.metric == "error_ratio"]
    begin = windows[0][1]
    assert any(r.server == server and r.tool == tool and abs(r.start_ms - begin) <= 15 * 60_000 for r in errs)
    assert all(r.cause is None for r in errs if r.server == server)
