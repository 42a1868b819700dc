"""The candidate models, each a small strategy around one statsforecast model (never hand-written).

A strategy builds its model from the season lengths (in steps) that the data supports. statsforecast
runs compiled code whose first call in a process pays a one-off cost: :func:`warm_up` pays it once,
on a tiny series, for every model, so the first real forecast is as fast as the next.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

Model = Any  # a statsforecast model instance (statsforecast ships no type information)


class ModelStrategy(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...

    def build(self, seasons: tuple[int, ...]) -> Model: ...


@dataclass(frozen=True)
class SeasonalNaive:
    name: str = "seasonal_naive"
    description: str = "the value one (longest) season earlier: the baseline every model must beat"

    def build(self, seasons: tuple[int, ...]) -> Model:
        from statsforecast.models import Naive, SeasonalNaive

        return SeasonalNaive(season_length=seasons[-1]) if seasons else Naive()


@dataclass(frozen=True)
class Mstl:
    name: str = "mstl"
    description: str = "MSTL: daily and weekly seasons removed by STL, trend forecast by AutoETS"

    def build(self, seasons: tuple[int, ...]) -> Model:
        from statsforecast.models import MSTL, AutoETS

        if not seasons:
            return AutoETS(model="ZZN")
        return MSTL(season_length=list(seasons), trend_forecaster=AutoETS(model="ZZN"))


class _Log:
    """A model fitted on log(y), its forecasts and bounds mapped back: multiplicative seasonality."""

    def __init__(self, inner: Model) -> None:
        self.inner = inner

    @staticmethod
    def _log(y: np.ndarray) -> np.ndarray:
        if (y <= 0).any():
            raise ValueError("a log model needs positive values")
        return np.log(y)

    def forecast(self, y: np.ndarray, h: int, level: list[int] | None = None) -> dict[str, np.ndarray]:
        return {k: np.exp(v) for k, v in self.inner.forecast(y=self._log(y), h=h, level=level).items()}

    def fit(self, y: np.ndarray) -> _Log:
        self.inner.fit(y=self._log(y))
        return self

    def predict(self, h: int, level: list[int] | None = None) -> dict[str, np.ndarray]:
        return {k: np.exp(v) for k, v in self.inner.predict(h=h, level=level).items()}

    def forward(self, y: np.ndarray, h: int, level: list[int] | None = None) -> dict[str, np.ndarray]:
        return {k: np.exp(v) for k, v in self.inner.forward(y=self._log(y), h=h, level=level).items()}


@dataclass(frozen=True)
class MstlLog:
    name: str = "mstl_log"
    description: str = "MSTL on the logarithm: seasons that scale with the level (positive series only)"

    def build(self, seasons: tuple[int, ...]) -> Model:
        return _Log(Mstl().build(seasons))


@dataclass(frozen=True)
class Ets:
    name: str = "ets"
    description: str = "AutoETS: exponential smoothing, additive season (shortest), error and trend by AICc"

    def build(self, seasons: tuple[int, ...]) -> Model:
        from statsforecast.models import AutoETS

        # additive seasons only: on 30 of the bench series the full search (multiplicative seasons too) cost
        # 1.6x the CPU and beat the seasonal naive on 17, not 30; MSTL on the log covers that case
        return AutoETS(season_length=seasons[0], model="ZZA") if seasons else AutoETS(model="ZZN")


@dataclass(frozen=True)
class Theta:
    name: str = "theta"
    description: str = "AutoTheta: theta method with seasonal decomposition (longest season)"

    def build(self, seasons: tuple[int, ...]) -> Model:
        from statsforecast.models import AutoTheta

        return AutoTheta(season_length=seasons[-1] if seasons else 1)


MODELS: dict[str, ModelStrategy] = {m.name: m for m in (Mstl(), MstlLog(), Ets(), Theta())}
BASELINE: ModelStrategy = SeasonalNaive()
_warm = threading.Lock()
_warmed: dict[str, float] = {}


def run(
    model: Model, y: np.ndarray, h: int, level: int | None = None, how: str = "forecast"
) -> dict[str, np.ndarray]:
    """Forecast ``h`` steps: ``mean`` and, with a level, ``lo``/``hi``.

    ``how``: "forecast" fits on ``y`` and keeps no state, "fit" fits and keeps the fitted model
    (for ``forward`` later), "forward" applies an already fitted model's parameters to new ``y``
    (no re-estimation: the cheap path when the data has only moved on a little).
    """
    y = np.asarray(y, dtype=np.float64)
    lv = None if level is None else [level]
    if how == "fit":
        out = model.fit(y=y).predict(h=h, level=lv)
    elif how == "forward":
        out = model.forward(y=y, h=h, level=lv)
    else:
        out = model.forecast(y=y, h=h, level=lv)
    res = {"mean": np.asarray(out["mean"], dtype=np.float64)}
    if level is not None:
        res["lo"] = np.asarray(out[f"lo-{level}"], dtype=np.float64)
        res["hi"] = np.asarray(out[f"hi-{level}"], dtype=np.float64)
    return res


def warm_up() -> dict[str, float]:
    """Run every model once on a small seasonal series (first call only); seconds taken per model."""
    import time

    with _warm:
        if _warmed:
            return dict(_warmed)
        t = np.arange(24 * 8, dtype=np.float64)
        y = 10 + np.sin(2 * np.pi * t / 24) + 0.01 * t + 0.1 * np.cos(t * 1.7)
        for strategy in (*MODELS.values(), BASELINE):
            started = time.perf_counter()
            run(strategy.build((24,)), y, 24, level=80)
            _warmed[strategy.name] = time.perf_counter() - started
        return dict(_warmed)
