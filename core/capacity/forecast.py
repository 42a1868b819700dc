"""The forecasting strategy: per series, the model picked by backtest, refit on all the data.

:class:`AutoForecaster` is the strategy class (settings in :class:`ForecastSettings`); it returns a
:class:`Forecast` per series, with the point forecast and interval per step, the model, its MASE
and a flag when it is no better than the seasonal naive, or "undefined" with the reason.

Three caches per forecaster (bounded, least recently used first out): the backtest verdict per
series key (re-run once the data has moved on by ``reselect_steps``), the fitted chosen model per
key, and the finished forecast per exact input (key, grid, values). A warm forecast of data that
moved on by a few steps neither backtests nor re-estimates: the fitted model's parameters are run
forward over the new data (statsforecast's ``forward``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from core.capacity import models
from core.capacity.backtest import Backtest, backtest, too_short
from core.capacity.series import Regular, since_last_reset, split, to_frame
from core.capacity.settings import ForecastSettings

CACHE_SIZE = 4096


@dataclass(frozen=True)
class Forecast:
    """One series' forecast: ``frame`` has ts, mean, lower, upper (empty when undefined)."""

    key: str
    frame: pl.DataFrame
    model: str | None = None
    mase: float | None = None
    no_better_than_naive: bool = False
    level: int = 80
    step_ms: int = 0
    history_end_ms: int = 0
    last_value: float | None = None
    backtest: Backtest | None = None
    undefined: str | None = None  # the reason when no forecast could be made

    @property
    def defined(self) -> bool:
        return self.undefined is None

    @classmethod
    def undefined_(cls, key: str, reason: str) -> Forecast:
        empty = pl.DataFrame(schema={"ts": pl.Datetime("ms", "UTC"), "mean": pl.Float64})
        return cls(key=key, frame=empty.with_columns(lower=pl.lit(0.0), upper=pl.lit(0.0)), undefined=reason)


class _Lru(OrderedDict[str, object]):
    def get_(self, key: str) -> object | None:
        if key in self:
            self.move_to_end(key)
            return self[key]
        return None

    def put(self, key: str, value: object) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > CACHE_SIZE:
            self.popitem(last=False)


class AutoForecaster:
    """Trend plus daily and weekly seasonality with prediction intervals, model chosen by backtest."""

    name = "auto"
    settings_model = ForecastSettings

    def __init__(self, settings: ForecastSettings | None = None, reselect_steps: int = 24) -> None:
        self.settings = settings or ForecastSettings()
        self.reselect_steps = reselect_steps
        self._verdicts = _Lru()  # key -> (start_ms, end_ms, Backtest)
        self._results = _Lru()  # fingerprint -> Forecast
        self._fitted = _Lru()  # key -> (model name, fitted statsforecast model)
        self._lock = threading.RLock()  # one forecaster may serve several sessions (threads)

    def with_settings(self, **changes: object) -> AutoForecaster:
        """A forecaster with some settings changed (a what-if); it starts with empty caches."""
        return AutoForecaster(self.settings.model_copy(update=changes), self.reselect_steps)

    def forecast_series(self, series: Regular) -> Forecast:
        """The forecast of one regular series (its step must be the settings' step)."""
        with self._lock:
            return self._forecast(series)

    def _forecast(self, series: Regular) -> Forecast:
        if series.step_ms != self.settings.step_ms:
            raise ValueError(f"series step {series.step_ms} ms, settings step {self.settings.step_ms} ms")
        if self.settings.after_reset:
            series = since_last_reset(series)
        if reason := too_short(self.settings, len(series.y)):
            since = " since the last reset" if self.settings.after_reset else ""
            return Forecast.undefined_(series.key, reason + since)
        digest = hashlib.blake2b(series.y.tobytes(), digest_size=16).hexdigest()
        fingerprint = f"{series.key}|{series.start_ms}|{digest}"
        if isinstance(hit := self._results.get_(fingerprint), Forecast):
            return hit
        verdict, fresh = self._verdict(series)
        result = self._fit(series, verdict, reuse=not fresh)
        self._results.put(fingerprint, result)
        return result

    def forecast_frame(self, frame: pl.DataFrame, by: list[str] | None = None) -> list[Forecast]:
        """Every series of a long frame (ts, value, label columns), in the frame's order."""
        return [self.forecast_series(s) for s in split(frame, self.settings.step_ms, by)]

    def _verdict(self, series: Regular) -> tuple[Backtest, bool]:
        """The backtest verdict, and whether it was just made (False: reused from the cache)."""
        cached = self._verdicts.get_(series.key)
        window = self.reselect_steps * series.step_ms
        if isinstance(cached, tuple):
            start_ms, end_ms, verdict = cached
            moved = series.end_ms - end_ms
            if 0 <= moved < window and abs(series.start_ms - start_ms - moved) < window:
                return verdict, False
        verdict = backtest(series.y, self.settings)
        self._verdicts.put(series.key, (series.start_ms, series.end_ms, verdict))
        return verdict, True

    def _run(self, series: Regular, verdict: Backtest, reuse: bool) -> dict[str, np.ndarray]:
        """The chosen model on the whole series: its fitted parameters moved forward when cached."""
        s, fitted = self.settings, self._fitted.get_(series.key)
        if reuse and isinstance(fitted, tuple) and fitted[0] == verdict.chosen:
            return models.run(fitted[1], series.y, s.horizon_steps, level=s.level, how="forward")
        model = models.MODELS.get(verdict.chosen, models.BASELINE).build(verdict.seasons)
        out = models.run(model, series.y, s.horizon_steps, level=s.level, how="fit")
        self._fitted.put(series.key, (verdict.chosen, model))
        return out

    def _fit(self, series: Regular, verdict: Backtest, reuse: bool = False) -> Forecast:
        s, chosen = self.settings, verdict.chosen
        try:
            out = self._run(series, verdict, reuse)
        except Exception as exc:  # fail soft: the baseline still forecasts
            if chosen == models.BASELINE.name:
                return Forecast.undefined_(series.key, f"{chosen} failed: {exc}")
            verdict = replace(verdict, chosen=models.BASELINE.name, mase=verdict.scores[models.BASELINE.name])
            return self._fit(series, verdict)
        ms = series.end_ms + series.step_ms * np.arange(s.horizon_steps, dtype=np.int64)
        q = verdict.spread.get(verdict.chosen, 0.0)
        mean = out["mean"]
        lower, upper = np.minimum(out["lo"], mean - q), np.maximum(out["hi"], mean + q)
        frame = to_frame(ms, mean=mean, lower=lower, upper=upper)
        return Forecast(
            key=series.key,
            frame=frame,
            model=verdict.chosen,
            mase=verdict.mase,
            no_better_than_naive=verdict.no_better_than_naive,
            level=s.level,
            step_ms=series.step_ms,
            history_end_ms=series.end_ms,
            last_value=float(series.y[-1]),
            backtest=verdict,
        )
