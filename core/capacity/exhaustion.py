"""Time to exhaustion: when a forecast crosses a capacity threshold, with early and late dates.

The point forecast gives the expected date; for a rising metric the upper interval bound crosses
first (the earliest plausible date) and the lower bound last (the latest); for a falling metric
(headroom, free bytes) the roles swap. Crossing times are interpolated linearly between steps.
:func:`crosses_within` is the test an alert condition "forecast crosses X within T" asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.capacity.forecast import Forecast

Direction = Literal["above", "below"]


@dataclass(frozen=True)
class Exhaustion:
    """When ``threshold`` is crossed: ms timestamps, None when not within the forecast horizon."""

    key: str
    threshold: float
    direction: Direction
    at_ms: int | None  # the point forecast crosses
    earliest_ms: int | None  # the pessimistic interval bound crosses
    latest_ms: int | None  # the optimistic interval bound crosses
    already: bool = False  # the last observed value is beyond the threshold
    undefined: str | None = None

    def remaining_ms(self, now_ms: int) -> int | None:
        return None if self.at_ms is None else max(0, self.at_ms - now_ms)


def first_crossing(
    ts_ms: np.ndarray, values: np.ndarray, threshold: float, direction: Direction, start: tuple[int, float]
) -> int | None:
    """The first time the piecewise-linear path through ``start`` then (ts, values) reaches threshold."""
    t = np.concatenate([[start[0]], ts_ms]).astype(np.float64)
    v = np.concatenate([[start[1]], values]).astype(np.float64)
    beyond = v >= threshold if direction == "above" else v <= threshold
    hits = np.flatnonzero(beyond)
    if not len(hits):
        return None
    i = int(hits[0])
    if i == 0:
        return int(t[0])
    frac = (threshold - v[i - 1]) / (v[i] - v[i - 1])
    return int(round(t[i - 1] + frac * (t[i] - t[i - 1])))


def time_to_exhaustion(fc: Forecast, threshold: float, direction: Direction = "above") -> Exhaustion:
    """Dates the point forecast and its interval bounds first cross ``threshold``."""
    if not fc.defined or fc.last_value is None:
        return Exhaustion(fc.key, threshold, direction, None, None, None, undefined=fc.undefined)
    ts = fc.frame["ts"].dt.epoch("ms").to_numpy()
    start = (fc.history_end_ms - fc.step_ms // 2, fc.last_value)  # the last bucket's middle
    pessimistic, optimistic = ("upper", "lower") if direction == "above" else ("lower", "upper")

    def cross(column: str) -> int | None:
        return first_crossing(ts, fc.frame[column].to_numpy(), threshold, direction, start)

    already = fc.last_value >= threshold if direction == "above" else fc.last_value <= threshold
    return Exhaustion(
        fc.key, threshold, direction, cross("mean"), cross(pessimistic), cross(optimistic), bool(already)
    )


def crosses_within(
    fc: Forecast, threshold: float, within_ms: int, now_ms: int, direction: Direction = "above"
) -> bool:
    """Whether the point forecast crosses ``threshold`` before ``now_ms + within_ms``."""
    ex = time_to_exhaustion(fc, threshold, direction)
    return ex.at_ms is not None and ex.at_ms <= now_ms + within_ms
