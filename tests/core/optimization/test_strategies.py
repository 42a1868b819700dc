"""Strategies on hand-made usage rows: thresholds, headroom, censored peaks, settings bounds."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from core.optimization.model import Resources
from core.optimization.rightsizing import recommend_row
from core.optimization.settings import PriceSettings
from core.optimization.strategies import (
    STRATEGIES,
    MemoryPercentileStrategy,
    SimpleLimitStrategy,
    Strategy,
    make_strategy,
)

GIB = 2**30
H = 3_600_000


def usage(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "server": "s",
        "host": "h",
        "team": "t",
        "session_id": "x",
        "points": 2000,
        "first_ms": 0,
        "last_ms": 7 * 24 * H,
        "cpu_p50": 0.1,
        "cpu_p75": 0.15,
        "cpu_p90": 0.18,
        "cpu_p95": 0.2,
        "cpu_p99": 0.25,
        "cpu_peak": 0.3,
        "memory_p50": 0.5 * GIB,
        "memory_p75": 0.6 * GIB,
        "memory_p90": 0.7 * GIB,
        "memory_p95": 0.8 * GIB,
        "memory_p99": 0.9 * GIB,
        "memory_peak": 1.0 * GIB,
        "cpu_request": 1.0,
        "cpu_limit": 2.0,
        "memory_request": 4.0 * GIB,
        "memory_limit": 8.0 * GIB,
        "restarts": 0.0,
        "oom_kills": 0.0,
        "throttled_periods": 0.0,
        "periods": 1000.0,
    }
    row.update(over)
    return row


def test_simple_is_krr_simple() -> None:
    got = Strategy().recommend(usage())
    assert isinstance(got, Resources)
    assert got.cpu_request == 0.2 and got.cpu_limit is None
    assert got.memory_request == got.memory_limit == pytest.approx(1.15 * GIB)


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"points": 99}, "99 samples, 100 needed"),
        ({"last_ms": 2 * H}, "2.0 h of history, 3 h needed"),
        ({"cpu_p95": None}, "no CPU or memory usage"),
    ],
)
def test_undefined_with_the_reason(over: dict[str, Any], reason: str) -> None:
    rec = recommend_row(usage(**over), SimpleLimitStrategy(), PriceSettings(), 3600)
    assert not rec.defined and reason in rec.reason and rec.savings_monthly == 0
    assert rec.evidence.points == usage(**over)["points"]  # the evidence is attached all the same


def test_enough_history_exactly_at_the_thresholds() -> None:
    assert Strategy().undefined_reason(usage(points=100, last_ms=3 * H)) == ""


def test_oom_kills_raise_the_memory_limit_over_the_current_one() -> None:
    got = Strategy().recommend(usage(memory_peak=8 * GIB, memory_limit=8 * GIB, oom_kills=3.0))
    assert isinstance(got, Resources) and got.memory_limit == pytest.approx(12 * GIB)


def test_throttling_raises_cpu_limit_and_keeps_the_request() -> None:
    u = usage(cpu_p95=2.0, cpu_peak=2.0, cpu_request=1.5, cpu_limit=2.0, throttled_periods=300.0)
    got = SimpleLimitStrategy().recommend(u)
    assert isinstance(got, Resources) and got.cpu_limit == pytest.approx(4.0) and got.cpu_request == 2.0
    rec = recommend_row(u, SimpleLimitStrategy(), PriceSettings(), 3600)
    assert {r.kind for r in rec.risks} >= {"cpu_throttling"}


def test_memory_percentile_requests_less_than_the_limit() -> None:
    got = MemoryPercentileStrategy().recommend(usage())
    assert isinstance(got, Resources)
    assert got.memory_request == pytest.approx(0.8 * GIB * 1.1) and got.memory_limit == pytest.approx(
        1.15 * GIB
    )


@given(
    peak=st.floats(1e6, 1e12),
    share=st.floats(0.01, 1.0),
    buffer=st.floats(0, 200),
    oom=st.sampled_from([0.0, 2.0]),
    name=st.sampled_from(sorted(STRATEGIES)),
)
def test_memory_limit_never_below_peak_plus_headroom(
    peak: float, share: float, buffer: float, oom: float, name: str
) -> None:
    u = usage(memory_peak=peak, memory_p95=peak * share, memory_p99=peak * share, oom_kills=oom)
    got = make_strategy(name, memory_buffer_percentage=buffer).recommend(u)
    assert isinstance(got, Resources) and got.memory_limit is not None and got.memory_request is not None
    assert got.memory_limit >= peak * (1 + buffer / 100) * (1 - 1e-12)
    assert got.memory_request <= got.memory_limit


def test_savings_in_money_from_unit_prices() -> None:
    prices = PriceSettings(cpu_core_hour=0.1, memory_gib_hour=0.01)
    rec = recommend_row(usage(), Strategy(), prices, 3600)
    assert rec.savings_cores == pytest.approx(0.8) and rec.savings_gib == pytest.approx(4 - 1.15)
    assert rec.savings_monthly == pytest.approx((0.8 * 0.1 + 2.85 * 0.01) * 730)


def test_settings_bounds_and_names() -> None:
    with pytest.raises(ValidationError):
        make_strategy("simple", cpu_percentile=10)
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("krr")
    fields = SimpleLimitStrategy.settings_class.model_fields
    assert all(f.description for f in fields.values())  # the what-if widgets' help texts
