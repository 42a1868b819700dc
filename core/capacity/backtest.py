"""Backtest: score each candidate on the held-out end of a series against the seasonal naive.

MASE here is the mean absolute error of a model's forecast over the held-out span divided by that
of the seasonal naive forecast over the same span (the naive scores 1.0): below 1 the model beats
"the same as one season ago", at or above 1 it does not and the result is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.capacity import models
from core.capacity.settings import ForecastSettings


@dataclass(frozen=True)
class Backtest:
    """The scores of one series' backtest and the model it picked."""

    chosen: str
    mase: float  # of the chosen model, vs the seasonal naive on the held-out span
    holdout_steps: int
    seasons: tuple[int, ...]  # season lengths in steps (those that fit twice in the training part)
    scores: dict[str, float] = field(default_factory=dict)  # MASE of every candidate that ran
    errors: dict[str, str] = field(default_factory=dict)  # candidates that failed, with the reason
    spread: dict[str, float] = field(default_factory=dict)  # |held-out error| quantile at the level

    @property
    def no_better_than_naive(self) -> bool:
        return self.chosen == models.BASELINE.name or not self.mase < 1.0


def usable_seasons(settings: ForecastSettings, n: int) -> tuple[int, ...]:
    """Season lengths in steps that fit twice in ``n`` points (and are at least 2 steps)."""
    steps = (s // settings.step_s for s in settings.seasons_s if s % settings.step_s == 0)
    return tuple(m for m in steps if m >= 2 and 2 * m <= n)


def holdout_steps(settings: ForecastSettings, n: int) -> int:
    return max(1, min(settings.holdout_s // settings.step_s, n // 4))


def too_short(settings: ForecastSettings, n: int) -> str | None:
    """Why a series of ``n`` points cannot be backtested, or None."""
    train = n - holdout_steps(settings, n)
    if train < settings.min_points:
        return (
            f"too short: {n} points of {settings.step_s} s leave {train} to train after the held-out "
            f"span, need at least {settings.min_points}"
        )
    return None


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a - b)))


def backtest(y: np.ndarray, settings: ForecastSettings) -> Backtest:
    """Fit every candidate on all but the held-out span, score it, pick the lowest MASE."""
    h = holdout_steps(settings, len(y))
    train, test = y[:-h], y[-h:]
    seasons = usable_seasons(settings, len(train))
    naive = models.run(models.BASELINE.build(seasons), train, h)["mean"]
    naive_mae = _mae(naive, test)
    tol = 1e-9 * float(np.abs(test).mean()) + 1e-12  # below this an error is rounding noise

    def score(mae: float) -> float:
        if naive_mae > tol:
            return mae / naive_mae
        return 1.0 if mae <= tol else float("inf")  # the naive is exact: only an exact model ties

    scores: dict[str, float] = {models.BASELINE.name: 1.0}
    errors: dict[str, str] = {}
    q = settings.level / 100
    spread = {models.BASELINE.name: float(np.quantile(np.abs(naive - test), q))}
    for name in settings.candidates:
        try:
            fc = models.run(models.MODELS[name].build(seasons), train, h)["mean"]
        except Exception as exc:  # a model that cannot fit this series is skipped, with the reason
            errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        if np.isfinite(fc).all():
            scores[name] = score(_mae(fc, test))
            spread[name] = float(np.quantile(np.abs(fc - test), q))
        else:
            errors[name] = "non-finite forecast"
    chosen = min(scores, key=lambda k: (scores[k], k != models.BASELINE.name))
    return Backtest(chosen, scores[chosen], h, seasons, scores, errors, spread)
