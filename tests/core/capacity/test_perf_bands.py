"""Anomaly bands of the Performance view: a latency spike and an error burst are flagged on their
server only, the clean server stays inside its band, scoping and the drill-down narrow the bands."""

from __future__ import annotations

import math

import polars as pl
import pytest

from core.capacity.perf_bands import performance_bands
from core.kernel.samples import Sample, labels_of
from core.kernel.times import TimeRange
from core.storage.tsdb import Store
from core.views import ALL, scoped
from tests.conftest import T0_MS

DAY_MS, STEP = 86_400_000, 300_000
END = T0_MS
SPIKE = (END - 3 * 3_600_000, END - 2 * 3_600_000)  # the last day's 21:00-22:00 on "slow"
SERVERS = {"slow": "platform", "steady": "data"}  # server: team


@pytest.fixture
def filled(store: Store) -> Store:
    batch, calls, errors = [], dict.fromkeys(SERVERS, 0.0), dict.fromkeys(SERVERS, 0.0)
    for ts in range(END - 8 * DAY_MS, END, STEP):
        wave = 1 + 0.3 * math.sin(2 * math.pi * (ts % DAY_MS) / DAY_MS) + 0.01 * math.sin(ts / 7e5)
        for server, team in SERVERS.items():
            spiking = server == "slow" and SPIKE[0] <= ts < SPIKE[1]
            lb = {"server": server, "team": team, "host": "h", "gen_ai_tool_name": "query"}
            calls[server] += 3.0 * STEP / 1000 * wave
            errors[server] += (0.5 if spiking else 0.01 * wave) * STEP / 1000
            batch += [
                Sample("mcp_server_tool_calls_total", labels_of(**lb), ts, calls[server]),
                Sample("mcp_server_tool_errors_total", labels_of(**lb), ts, errors[server]),
                Sample(
                    "mcp_server_operation_duration_seconds",
                    labels_of(**lb, quantile="0.95", mcp_method_name="tools/call"),
                    ts,
                    2.5 if spiking else 0.2 * wave,
                ),
            ]
    store.write(batch)
    return store


def within(bands: pl.DataFrame, span: tuple[int, int]) -> bool:
    ms = bands["ts"].dt.epoch("ms")
    return bool(ms.min() >= span[0] - 900_000 and ms.max() < span[1] + 900_000)


@pytest.mark.parametrize("quantity", ["p95", "errors_per_s"])
def test_the_spike_is_flagged_on_its_server_only(filled: Store, quantity: str) -> None:
    tr = TimeRange("24h", END - DAY_MS, END, STEP)
    bands = performance_bands(filled, tr, ALL, quantity)  # type: ignore[arg-type]
    assert set(bands["server"]) == set(SERVERS)
    odd = bands.filter(pl.col("anomalous"))
    assert set(odd["server"]) == {"slow"} and within(odd, SPIKE)
    steady = bands.filter(pl.col("server") == "steady")
    assert ((steady["value"] >= steady["lower"]) & (steady["value"] <= steady["upper"])).all()


def test_bands_follow_the_scope_and_the_drill_down(filled: Store) -> None:
    tr = TimeRange("24h", END - DAY_MS, END, STEP)
    lead = performance_bands(scoped(filled, {"data"}), tr, ALL, "p95")
    assert set(lead["server"]) == {"steady"}
    tools = performance_bands(filled, tr, ALL, "p95", by="gen_ai_tool_name", server="slow")
    assert set(tools["gen_ai_tool_name"]) == {"query"} and tools["anomalous"].any()
    assert performance_bands(scoped(filled, set()), tr, ALL, "p95").is_empty()


def test_too_little_history_gives_no_band_and_a_bad_quantity_is_named(filled: Store) -> None:
    tr = TimeRange("1h", END - 3_600_000, END, STEP)
    assert performance_bands(filled, tr, ALL, "p95", history_days=1).is_empty()
    with pytest.raises(ValueError, match="not 'calls_per_s'"):
        performance_bands(filled, tr, ALL, "calls_per_s")  # type: ignore[arg-type]
