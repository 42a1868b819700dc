"""Forecasts of demo series: backtest accuracy against the seasonal naive, intervals, caching."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from core.capacity import AGGREGATES, AutoForecaster, ForecastSettings, Regular, regular, total
from core.capacity import forecast as forecast_module
from tests.core.capacity.demo_history import HOUR_MS, START, WEEK_MS, counter_rate, frame

LO, HI = START - 4 * WEEK_MS, START + WEEK_MS  # five weeks: four to forecast from, one unseen
WEEK_STEPS = WEEK_MS // HOUR_MS


def aggregate(name: str) -> pl.DataFrame:
    agg = AGGREGATES[name]
    if agg.over == "rate":
        return counter_rate(agg.selector, LO, HI)
    return total(frame(agg.selector, LO, HI), agg.across)


SEASONAL = {
    **{name: lambda name=name: aggregate(name) for name in AGGREGATES if name != "fleet_disk"},
    "host-01 cpu": lambda: frame("host_cpu_utilization_ratio", LO, HI, host="host-01").select("ts", "value"),
    "payments users": lambda: frame("platform_active_users", LO, HI, team="payments").select("ts", "value"),
}


@pytest.fixture(scope="module")
def forecaster() -> AutoForecaster:
    return AutoForecaster(ForecastSettings(horizon_s=7 * 86_400))


@pytest.mark.parametrize("name", list(SEASONAL))
def test_beats_seasonal_naive_on_the_held_out_week(name: str, forecaster: AutoForecaster) -> None:
    series = regular(SEASONAL[name](), HOUR_MS, key=name)
    assert len(series.y) == 5 * WEEK_STEPS
    train, actual = series.head(4 * WEEK_STEPS), series.y[-WEEK_STEPS:]
    fc = forecaster.forecast_series(train)
    assert fc.defined and fc.model != "seasonal_naive" and not fc.no_better_than_naive
    assert fc.mase is not None and fc.mase < 1.0, fc.backtest
    mean = fc.frame["mean"].to_numpy()
    # computed here, not by the backtest: the forecast of the unseen week against last week's values
    naive = train.y[-WEEK_STEPS:]
    mase = np.abs(mean - actual).mean() / np.abs(naive - actual).mean()
    assert mase < 1.0, f"{name}: MASE {mase:.3f} on the unseen week with {fc.model}"
    lower, upper = fc.frame["lower"].to_numpy(), fc.frame["upper"].to_numpy()
    assert (lower <= mean).all() and (mean <= upper).all()
    cover = ((actual >= lower) & (actual <= upper)).mean()
    assert cover > 0.5, "the 80 % interval covers most of the week"
    assert fc.frame["ts"].dt.epoch("ms")[0] == train.end_ms


def test_too_short_is_undefined_with_the_reason(forecaster: AutoForecaster) -> None:
    series = Regular("short", START, HOUR_MS, np.arange(40, dtype=np.float64))
    fc = forecaster.forecast_series(series)
    assert not fc.defined and fc.frame.is_empty()
    assert fc.undefined is not None and "too short" in fc.undefined and "48" in fc.undefined


def test_no_better_than_naive_is_flagged() -> None:
    t = np.arange(24 * 21)
    exact = 5 + np.where(t % 24 < 12, 1.0, -1.0)  # repeats exactly: nothing beats the naive
    fc = AutoForecaster().forecast_series(Regular("square", START, HOUR_MS, exact))
    assert fc.defined and fc.no_better_than_naive and fc.model == "seasonal_naive"
    assert np.allclose(fc.frame["mean"].to_numpy()[:48], exact[-48:])


def test_results_are_cached_and_fresh_data_reuses_the_model_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    y = frame("host_cpu_utilization_ratio", LO, HI, host="host-02").select("ts", "value")
    series = regular(y, HOUR_MS, key="host-02")
    forecaster = AutoForecaster(ForecastSettings(horizon_s=86_400))
    calls: list[int] = []
    real = forecast_module.backtest

    def counting(*args: object, **kw: object) -> object:
        calls.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(forecast_module, "backtest", counting)
    first = forecaster.forecast_series(series.head(3 * WEEK_STEPS))
    assert forecaster.forecast_series(series.head(3 * WEEK_STEPS)) is first
    moved = Regular(series.key, series.start_ms + HOUR_MS, HOUR_MS, series.y[1 : 3 * WEEK_STEPS + 1])
    later = forecaster.forecast_series(moved)
    assert len(calls) == 1 and later.model == first.model and later is not first
    assert later.history_end_ms == first.history_end_ms + HOUR_MS
    far = Regular(series.key, series.start_ms + WEEK_MS, HOUR_MS, series.y[WEEK_STEPS:])
    forecaster.forecast_series(far)
    assert len(calls) == 2, "a week later the backtest runs again"


def test_settings_have_bounds_and_descriptions() -> None:
    for name, field in ForecastSettings.model_fields.items():
        assert field.description, name
    with pytest.raises(ValidationError):
        ForecastSettings(level=120)
    with pytest.raises(ValidationError, match="unknown models"):
        ForecastSettings(candidates=("prophet",))
    with pytest.raises(ValueError, match="step"):
        AutoForecaster().forecast_series(Regular("x", 0, 60_000, np.ones(500)))


def test_forecast_frame_splits_by_labels() -> None:
    df = frame("host_memory_utilization_ratio", START - WEEK_MS, START + WEEK_MS).select(
        "ts", "value", "host"
    )
    results = AutoForecaster(ForecastSettings(horizon_s=86_400)).forecast_frame(df)
    assert [r.key for r in results] == [f'{{host="host-0{i}"}}' for i in range(1, 7)]
    assert all(r.defined and r.frame.height == 24 for r in results)
