"""Settings of the forecasting and anomaly strategies: bounds and descriptions become what-if widgets."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86_400, 604_800


class ForecastSettings(BaseModel):
    """How a series is forecast: step, horizon, interval, seasons and the backtest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step_s: int = Field(
        HOUR, ge=MINUTE, le=DAY, description="Resample step: the series is averaged into buckets this wide"
    )
    horizon_s: int = Field(14 * DAY, ge=HOUR, le=90 * DAY, description="How far ahead to forecast")
    level: int = Field(80, ge=50, le=99, description="Prediction interval level, in percent")
    seasons_s: tuple[int, ...] = Field(
        (DAY, WEEK),
        description="Season lengths (daily, weekly); one is used only when the training data holds two full cycles",
    )
    holdout_s: int = Field(
        WEEK,
        ge=HOUR,
        le=4 * WEEK,
        description="Backtest: the last span held out to score the models (a quarter of the history when shorter)",
    )
    min_points: int = Field(
        48, ge=8, le=10_000, description="Fewer training points than this and the forecast is undefined"
    )
    candidates: tuple[str, ...] = Field(
        ("mstl", "mstl_log", "ets", "theta"),
        description="Models tried by the backtest (seasonal naive is always the baseline)",
    )

    after_reset: bool = Field(
        False,
        description="Forecast only from the last reset (a one-step drop of over half the range, e.g. a disk cleanup)",
    )

    @field_validator("seasons_s")
    @classmethod
    def _positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(s <= 0 for s in v):
            raise ValueError("season lengths must be positive seconds")
        return tuple(sorted(set(v)))

    @field_validator("candidates")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        from core.capacity.models import MODELS

        unknown = sorted(set(v) - set(MODELS))
        if unknown:
            raise ValueError(f"unknown models {unknown}; choose from {sorted(MODELS)}")
        return v

    @property
    def step_ms(self) -> int:
        return self.step_s * 1000

    @property
    def horizon_steps(self) -> int:
        return max(1, self.horizon_s // self.step_s)


class AnomalySettings(BaseModel):
    """The robust seasonal baseline: median/MAD of the residual per slot of the day and day class."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step_s: int = Field(15 * MINUTE, ge=MINUTE, le=6 * HOUR, description="Resample step of the baseline")
    trend_window_s: int = Field(
        WEEK, ge=DAY, le=4 * WEEK, description="Centred rolling median that removes the trend"
    )
    threshold: float = Field(
        6.0,
        ge=2.0,
        le=20.0,
        description="Robust z-score (residual / scaled MAD) beyond which a point is anomalous",
    )
    merge_gap_s: int = Field(
        2 * HOUR, ge=0, le=DAY, description="Anomalous points closer than this form one episode"
    )
    min_history_s: int = Field(
        3 * DAY, ge=DAY, le=4 * WEEK, description="Less history than this and the baseline is undefined"
    )
    day_classes: tuple[int, int, int, int, int, int, int] = Field(
        (0, 0, 0, 0, 1, 2, 2),
        description="Class of each weekday (Monday first): days of one class share a daily profile",
    )

    @field_validator("day_classes")
    @classmethod
    def _dense(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(c < 0 or c > 6 for c in v):
            raise ValueError("day classes are numbers 0 to 6")
        return v
