"""The capacity domain's models as the two alert conditions use them ("forecast crosses X within
T" and the robust seasonal anomaly score): plain functions of a series' history, injected into
the alert engine by the runtime, so the alerts domain (below this one) never imports capacity.

One forecaster per (step, horizon) keeps statsforecast's compiled models and the per-series
backtest verdicts warm between evaluation cycles (docs/capacity.md: caches).
"""

from __future__ import annotations

import threading

import polars as pl

from core.capacity.anomaly import RobustSeasonalDetector
from core.capacity.forecast import AutoForecaster
from core.capacity.series import regular
from core.capacity.settings import AnomalySettings, ForecastSettings

HOUR_S, DAY_S = 3600, 86_400


class AlertModels:
    def __init__(self) -> None:
        self._forecasters: dict[tuple[int, int], AutoForecaster] = {}
        self._detector = RobustSeasonalDetector(AnomalySettings())
        self._lock = threading.Lock()

    def _forecaster(self, step_ms: int, horizon_ms: int) -> AutoForecaster:
        step_s = min(max(step_ms // 1000, 60), DAY_S)
        horizon_s = min(max(horizon_ms // 1000, HOUR_S, step_s), 90 * DAY_S)
        with self._lock:
            f = self._forecasters.get((step_s, horizon_s))
            if f is None:
                f = AutoForecaster(ForecastSettings(step_s=step_s, horizon_s=horizon_s))
                self._forecasters[(step_s, horizon_s)] = f
            return f

    def forecast(self, key: str, history: pl.DataFrame, step_ms: int, horizon_ms: int) -> pl.DataFrame | None:
        """The point forecast with its interval (ts, mean, lower, upper), or None when undefined."""
        f = self._forecaster(step_ms, horizon_ms)
        fc = f.forecast_series(regular(history, f.settings.step_ms, key))
        return fc.frame if fc.defined else None

    def score(self, key: str, history: pl.DataFrame) -> float | None:
        """The absolute robust score of the latest bucket, or None without enough history."""
        found = self._detector.detect(regular(history, self._detector.settings.step_s * 1000, key))
        return found.score if found.defined else None
