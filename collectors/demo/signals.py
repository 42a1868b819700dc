"""Deterministic building blocks: stable hashes, hash noise, seasonality, trend and counters.

Every function here is a pure function of its arguments. Noise comes from a splitmix64 hash of
(key, time), never from a random stream, so a value at time ``t`` does not depend on how or when
it was asked for. Time-varying arithmetic sticks to table lookups, +, -, * and / (no
transcendental functions), which numpy computes bit-identically whatever the array length.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86_400, 604_800
GRID = 60  # counters integrate their rate on this fixed grid of seconds (reset times lie on it)
MONDAY_SHIFT = 3 * DAY  # the Unix epoch is a Thursday
TREND_ANCHOR = 2870 * WEEK  # Thursday 2025-01-02 00:00 UTC, a cycle boundary
TREND_CYCLE_WEEKS, TREND_GROWTH_WEEKS = 26, 24  # easing weeks fall around late June and late December
TREND_LOW, TREND_HIGH = 0.85, 1.25

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_LO32 = np.uint64(0xFFFFFFFF)


def stable_int(seed: int, *parts: object) -> int:
    """A 64-bit integer derived from the seed and parts, the same in every process."""
    text = "|".join(map(str, (seed, *parts))).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def stable_float(seed: int, *parts: object) -> float:
    """A float in [0, 1) derived from the seed and parts."""
    return (stable_int(seed, *parts) >> 11) / float(1 << 53)


def keys(seed: int, names: list[str], purpose: str) -> U64:
    """A column of per-series hash keys, shape (len(names), 1)."""
    return np.array([stable_int(seed, n, purpose) for n in names], dtype=np.uint64).reshape(-1, 1)


def _mix(x: U64) -> U64:
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def hash_at(key: U64, t: I64) -> U64:
    """splitmix64 of (key, t); key and t broadcast against each other."""
    return _mix(key + t.astype(np.uint64) * _GOLDEN)


def uniform(key: U64, t: I64) -> F64:
    """Uniform noise in [0, 1)."""
    return (hash_at(key, t) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def normal(key: U64, t: I64) -> F64:
    """Bounded noise with mean 0 and standard deviation 1 (triangular, within +-2.45)."""
    h = hash_at(key, t)
    total = (h & _LO32).astype(np.float64) + (h >> np.uint64(32)).astype(np.float64)
    return (total * 2.0**-32 - 1.0) * 2.449489742783178


def smooth(key: U64, t: I64, period: int) -> F64:
    """Slowly wandering noise (sd ~0.8): linear interpolation of ``normal`` knots ``period`` s apart."""
    k = t // period
    frac = (t - k * period) / period
    a, b = normal(key, k), normal(key, k + 1)
    return a + (b - a) * frac


@cache
def _week_table() -> F64:
    """Activity by minute of the week (Monday 00:00 UTC first), one extra wrap-around entry."""
    h = np.arange(7 * 24 * 60 + 1) % (24 * 60) / 60.0
    day = (np.arange(7 * 24 * 60 + 1) // (24 * 60)) % 7
    up = 1 / (1 + np.exp(-(h - 8.0) / 0.8))
    down = 1 / (1 + np.exp(-(18.5 - h) / 1.0))
    lunch = 1 - 0.12 * np.exp(-(((h - 12.5) / 0.7) ** 2))
    daily = 0.15 + 0.85 * up * down * lunch
    weekly = np.select([day >= 5, day == 4], [0.3, 0.9], 1.0)
    return np.asarray(daily * weekly, dtype=np.float64)


def season(t: I64) -> F64:
    """Business activity in (0, 1]: busy 9-18 UTC on weekdays, quiet nights and weekends."""
    s = (t + MONDAY_SHIFT) % WEEK
    idx = s // MINUTE
    frac = (s - idx * MINUTE) / MINUTE
    table = _week_table()
    a, b = table[idx], table[idx + 1]
    return np.asarray(a + (b - a) * frac, dtype=np.float64)


def trend(t: I64) -> F64:
    """Slow growth (~2 % a week) for 24 weeks, then two holiday weeks easing back; 26-week cycle.

    Bounded values cannot grow forever, so the trend is cyclic; the cycle starts on the first
    Thursday of January or July, putting the easing in the late-June and Christmas holidays.
    """
    weeks = ((t - TREND_ANCHOR) % (TREND_CYCLE_WEEKS * WEEK)) / WEEK
    slope = (TREND_HIGH - TREND_LOW) / TREND_GROWTH_WEEKS
    back = TREND_CYCLE_WEEKS - TREND_GROWTH_WEEKS
    rising = TREND_LOW + slope * weeks
    easing = TREND_HIGH - (TREND_HIGH - TREND_LOW) * (weeks - TREND_GROWTH_WEEKS) / back
    return np.where(weeks < TREND_GROWTH_WEEKS, rising, easing)


def rounded(x: npt.ArrayLike, decimals: int = 0) -> F64:
    """Round half to even to ``decimals`` places (bytes and counts to whole numbers)."""
    return np.round(np.asarray(x, dtype=np.float64), decimals).astype(np.float64)


def last_at(t: I64, offset: I64 | int, period: int) -> I64:
    """The latest time <= t that is congruent to ``offset`` modulo ``period``."""
    return t - (t - offset) % period


def active(
    t: I64, start: I64 | int, duration: I64 | int, period: int = WEEK
) -> tuple[npt.NDArray[np.bool_], F64]:
    """Whether t lies in a window repeating every ``period``, and its progress through it in [0, 1)."""
    since = (t - start) % period
    return since < duration, since / duration


def counter(t: I64, last_reset: I64, counts: Callable[[I64], I64]) -> I64:
    """Counter values, shape (S, T): events since the last reset, integrated on the fixed GRID.

    ``last_reset`` (S, T) holds reset times on the grid; ``counts(cell_starts)`` returns the
    integer events of each series in each grid cell, shape (S, C). Within a cell the count grows
    linearly (floored), so the value is monotonic between resets and exact in integers.
    """
    origin = int(last_reset.min())
    n_cells = (int(t.max()) - origin) // GRID + 1
    cells = counts(origin + GRID * np.arange(n_cells, dtype=np.int64))
    cum = np.zeros((cells.shape[0], n_cells + 1), dtype=np.int64)
    np.cumsum(cells, axis=1, out=cum[:, 1:])
    rows = np.arange(cells.shape[0])[:, None]
    k_t = ((t - origin) // GRID)[None, :]
    k_r = (last_reset - origin) // GRID
    partial = cells[rows, k_t] * ((t - origin) % GRID)[None, :] // GRID
    return np.asarray(cum[rows, k_t] - cum[rows, k_r] + partial, dtype=np.int64)
