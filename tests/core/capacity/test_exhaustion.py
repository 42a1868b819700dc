"""Time to exhaustion: exact crossings on a known forecast, and the demo's slow disk fill."""

from __future__ import annotations

import numpy as np
import pytest

from collectors.demo.capacity import slow_fill_windows
from core.capacity import (
    AutoForecaster,
    Forecast,
    ForecastSettings,
    crosses_within,
    regular,
    time_to_exhaustion,
)
from core.capacity.series import Regular, since_last_reset, to_frame
from tests.core.capacity.demo_history import DAY_MS, HOUR_MS, START, WEEK_MS, frame

T0 = START


def known(mean: list[float], lower: list[float], upper: list[float], last: float) -> Forecast:
    ms = T0 + HOUR_MS * np.arange(len(mean), dtype=np.int64)
    f = to_frame(ms, mean=np.array(mean), lower=np.array(lower), upper=np.array(upper))
    return Forecast("k", f, model="m", step_ms=HOUR_MS, history_end_ms=T0, last_value=last)


def test_crossings_are_interpolated_between_steps() -> None:
    # the last bucket's middle (T0 - 30 min) holds 0.5; the mean climbs 0.1 per hour after it
    fc = known([0.6, 0.7, 0.8, 0.9], [0.55, 0.6, 0.65, 0.7], [0.7, 0.8, 0.9, 1.0], last=0.5)
    ex = time_to_exhaustion(fc, 0.75)
    assert ex.at_ms == T0 + HOUR_MS + HOUR_MS // 2  # halfway between 0.7 and 0.8
    assert ex.earliest_ms == T0 + HOUR_MS // 2  # the upper bound reaches 0.75 halfway to 0.8
    assert ex.latest_ms is None and not ex.already  # the lower bound never gets there
    assert crosses_within(fc, 0.75, 2 * HOUR_MS, now_ms=T0)
    assert not crosses_within(fc, 0.75, HOUR_MS, now_ms=T0)
    assert not crosses_within(fc, 0.95, 10 * HOUR_MS, now_ms=T0)


def test_falling_metrics_swap_the_bounds() -> None:
    fc = known([0.4, 0.3, 0.2], [0.35, 0.2, 0.05], [0.45, 0.4, 0.35], last=0.5)
    ex = time_to_exhaustion(fc, 0.3, direction="below")
    assert ex.at_ms == T0 + HOUR_MS
    assert ex.earliest_ms is not None and ex.earliest_ms < ex.at_ms and ex.latest_ms is None
    assert time_to_exhaustion(fc, 0.6, direction="below").already


def test_undefined_forecast_gives_undefined_exhaustion() -> None:
    ex = time_to_exhaustion(Forecast.undefined_("k", "too short"), 1.0)
    assert ex.undefined == "too short" and ex.at_ms is None
    assert not crosses_within(Forecast.undefined_("k", "x"), 1.0, WEEK_MS, now_ms=T0)


def test_since_last_reset_trims_at_a_cleanup_only() -> None:
    y = np.concatenate([np.linspace(0.5, 0.99, 50), np.linspace(0.5, 0.7, 30)])
    cut = since_last_reset(Regular("d", 0, HOUR_MS, y))
    assert len(cut.y) == 30 and cut.start_ms == 50 * HOUR_MS
    cpu = regular(frame("host_cpu_utilization_ratio", START, START + WEEK_MS, host="host-01"), HOUR_MS)
    assert len(since_last_reset(cpu).y) == len(cpu.y), "a daily cycle is not a reset"


@pytest.mark.parametrize("seen_days", [3, 4, 5])
@pytest.mark.parametrize("history_days", [7, 28])
def test_slow_disk_fill_exhaustion_within_10_percent(seen_days: int, history_days: int) -> None:
    (fill, exhausted), *_ = slow_fill_windows(START, START + WEEK_MS)
    now = fill + seen_days * DAY_MS
    df = frame("host_disk_utilization_ratio", now - history_days * DAY_MS, now, host="host-06")
    series = regular(df.select("ts", "value"), HOUR_MS, key="host-06 disk")
    assert series.end_ms == now
    fc = AutoForecaster(ForecastSettings(after_reset=True)).forecast_series(series)
    ex = time_to_exhaustion(fc, 1.0)
    assert ex.at_ms is not None, fc.undefined or fc.frame["mean"].max()
    remaining = exhausted - now
    assert abs(ex.at_ms - exhausted) <= 0.1 * remaining, (ex.at_ms - exhausted) / HOUR_MS
    assert ex.earliest_ms is not None and ex.earliest_ms <= ex.at_ms
    assert ex.latest_ms is None or ex.latest_ms >= ex.at_ms
    assert crosses_within(fc, 1.0, remaining + DAY_MS // 2, now_ms=now)
    assert not crosses_within(fc, 1.0, remaining // 2, now_ms=now)
