"""Anomaly detection: a robust seasonal baseline per series, bands, a score and episodes.

The baseline of a regular series is its trend (a centred rolling median, ``trend_window_s`` wide)
plus a daily profile: the median of the detrended values per slot of the day, one profile for
working days and one for the weekend days. The residual's spread per slot of the day is the scaled
median absolute deviation (MAD x 1.4826), floored at half that of the whole series so a flat hour
still has a scale; when over half of all residuals are zero (rare events counted: errors of a
quiet tool) the whole series' spread comes from its 95th percentile instead. A point's
score is its residual over that spread (a robust z-score); beyond ``threshold`` it is anomalous,
and anomalous points closer than ``merge_gap_s`` form one episode. A day class seen on fewer than
three days (a weekend in a 4-day history) uses the profile of all days instead. Medians ignore the rare
disturbed days, so an incident on one day in five does not pull the baseline towards itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from core.capacity.series import Regular, split, to_frame
from core.capacity.settings import AnomalySettings

MAD_SCALE = 1.4826  # MAD -> standard deviation for normal noise
MIN_DAYS = 3  # days a day class needs for a profile of its own (a median of 2 is their mean)
DAY_MS = 86_400_000
BANDS = ("ts", "value", "baseline", "lower", "upper", "score")


@dataclass(frozen=True)
class Episode:
    start_ms: int
    end_ms: int  # end of the last anomalous bucket
    peak_score: float  # signed: above the baseline > 0
    points: int


@dataclass(frozen=True)
class Anomalies:
    """One series: ``bands`` has ts, value, baseline, lower, upper, score (empty when undefined)."""

    key: str
    bands: pl.DataFrame
    episodes: list[Episode] = field(default_factory=list)
    score: float = 0.0  # |score| of the latest point: what an alert condition compares
    max_score: float = 0.0  # largest |score| in the range
    undefined: str | None = None

    @property
    def defined(self) -> bool:
        return self.undefined is None


def _slot_medians(values: np.ndarray, slots: np.ndarray, n_slots: int) -> np.ndarray:
    out = np.zeros(n_slots)
    order = np.argsort(slots, kind="stable")
    bounds = np.searchsorted(slots[order], np.arange(n_slots + 1))
    for s in range(n_slots):
        part = values[order[bounds[s] : bounds[s + 1]]]
        out[s] = np.median(part) if len(part) else 0.0
    return out


def _rolling_median(y: np.ndarray, window: int) -> np.ndarray:
    return pl.Series(y).rolling_median(window, min_samples=1, center=True).to_numpy()


def episodes_of(
    ms: np.ndarray, score: np.ndarray, threshold: float, gap_ms: int, step_ms: int
) -> list[Episode]:
    """Runs of |score| > threshold merged across gaps up to ``gap_ms``; a lone point must score 2x."""
    hits = np.flatnonzero(np.abs(score) > threshold)
    out: list[Episode] = []
    if not len(hits):
        return out
    breaks = np.flatnonzero(np.diff(ms[hits]) > gap_ms + step_ms)
    for run in np.split(hits, breaks + 1):
        peak = run[np.argmax(np.abs(score[run]))]
        if len(run) > 1 or abs(score[peak]) >= 2 * threshold:
            out.append(Episode(int(ms[run[0]]), int(ms[run[-1]] + step_ms), float(score[peak]), len(run)))
    return out


class RobustSeasonalDetector:
    """Median/MAD of the seasonal residual per series; see the module docstring."""

    name = "robust_seasonal"
    settings_model = AnomalySettings

    def __init__(self, settings: AnomalySettings | None = None) -> None:
        self.settings = settings or AnomalySettings()

    def detect_frame(self, frame: pl.DataFrame, by: list[str] | None = None) -> list[Anomalies]:
        return [self.detect(s) for s in split(frame, self.settings.step_s * 1000, by)]

    def detect(self, series: Regular) -> Anomalies:
        s, y, step = self.settings, series.y, series.step_ms
        if len(y) * step < s.min_history_s * 1000:
            have = len(y) * step / 3_600_000
            return Anomalies(
                series.key,
                pl.DataFrame(schema={"ts": pl.Datetime("ms", "UTC"), **{c: pl.Float64 for c in BANDS[1:]}}),
                undefined=f"too short: {have:.1f} h of history, the baseline needs {s.min_history_s / 3600:g} h",
            )
        ms = series.times()
        window = max(3, s.trend_window_s * 1000 // step)
        per_day = max(1, DAY_MS // step)
        slot_of_day = (ms % DAY_MS) // step
        day_class = np.asarray(s.day_classes)[(ms // DAY_MS + 3) % 7]  # the epoch is a Thursday
        slots = slot_of_day + per_day * day_class
        n_slots = per_day * (max(s.day_classes) + 1)
        days = np.unique(ms // DAY_MS, return_index=True)[1]
        sparse = np.bincount(day_class[days], minlength=n_slots // per_day) < MIN_DAYS
        pooled = sparse[day_class]  # a class seen on too few days takes the all-days profile

        def profile_of(detrended: np.ndarray) -> np.ndarray:
            own = _slot_medians(detrended, slots, n_slots)[slots]
            return np.where(pooled, _slot_medians(detrended, slot_of_day, per_day)[slot_of_day], own)

        trend = _rolling_median(y, window)
        profile = profile_of(y - trend)
        trend = _rolling_median(y - profile, window)  # the level of the deseasonalised series
        profile = profile_of(y - trend)
        resid = y - trend - profile
        hour = slot_of_day * step // 3_600_000  # spreads pooled per hour of the day
        spread = _slot_medians(np.abs(resid), hour, 24) * MAD_SCALE
        overall = float(np.median(np.abs(resid))) * MAD_SCALE
        if overall == 0.0:  # mostly exact zeros (rare events counted): the 95th percentile instead
            overall = float(np.quantile(np.abs(resid), 0.95)) / 1.96
        floor = max(0.5 * overall, 1e-4 * float(np.max(np.abs(y))), 1e-12)
        scale = np.maximum(spread, floor)[hour]
        score = resid / scale
        baseline = trend + profile
        k = s.threshold
        bands = to_frame(
            ms,
            value=y,
            baseline=baseline,
            lower=baseline - k * scale,
            upper=baseline + k * scale,
            score=score,
        )
        return Anomalies(
            key=series.key,
            bands=bands,
            episodes=episodes_of(ms, score, k, s.merge_gap_s * 1000, step),
            score=float(abs(score[-1])),
            max_score=float(np.max(np.abs(score))),
        )
