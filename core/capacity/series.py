"""Series as the strategies need them: one regular grid of values, gaps filled, and a key per series.

Input frames are long: a ``ts`` column (polars Datetime or Unix milliseconds), a ``value`` column
and any label columns. :func:`regular` averages a series into buckets of ``step_ms`` (floored to
the step, like the store's rollups), reindexes the full range and fills short gaps linearly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

F64 = npt.NDArray[np.float64]
TS = pl.Datetime("ms", "UTC")


@dataclass(frozen=True)
class Regular:
    """Values on a regular grid: ``y[i]`` is the mean over [start_ms + i*step_ms, + step_ms)."""

    key: str
    start_ms: int
    step_ms: int
    y: F64

    @property
    def end_ms(self) -> int:
        """The start of the bucket after the last one: where a forecast starts."""
        return self.start_ms + self.step_ms * len(self.y)

    def times(self) -> npt.NDArray[np.int64]:
        return self.start_ms + self.step_ms * np.arange(len(self.y), dtype=np.int64)

    def head(self, n: int) -> Regular:
        return Regular(self.key, self.start_ms, self.step_ms, self.y[:n])


def _ms(frame: pl.DataFrame) -> pl.Expr:
    dtype = frame.schema["ts"]
    return pl.col("ts").dt.epoch("ms") if isinstance(dtype, pl.Datetime) else pl.col("ts").cast(pl.Int64)


def regular(frame: pl.DataFrame, step_ms: int, key: str = "") -> Regular:
    """One series (columns ``ts``, ``value``) on a regular grid; empty input gives an empty grid."""
    df = frame.select(_ms(frame).alias("ms"), pl.col("value").cast(pl.Float64)).drop_nulls()
    df = df.filter(pl.col("value").is_finite())
    if df.is_empty():
        return Regular(key, 0, step_ms, np.zeros(0))
    bucket = df.group_by((pl.col("ms") // step_ms) * step_ms).agg(pl.col("value").mean()).sort("ms")
    ms = bucket["ms"].to_numpy()
    start = int(ms[0])
    index = ((ms - start) // step_ms).astype(np.int64)
    y = np.full(int(index[-1]) + 1, np.nan)
    y[index] = bucket["value"].to_numpy()
    if np.isnan(y).any():
        known = ~np.isnan(y)
        y = np.interp(np.arange(len(y)), np.flatnonzero(known), y[known])
    return Regular(key, start, step_ms, np.asarray(y, dtype=np.float64))


def series_key(labels: dict[str, str]) -> str:
    """``metric{a="1",b="2"}`` in the label order given, the metric from ``__name__`` or ``metric``."""
    name = labels.get("__name__", labels.get("metric", ""))
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k not in ("__name__", "metric"))
    return f"{name}{{{rest}}}" if rest else name or "{}"


def split(frame: pl.DataFrame, step_ms: int, by: Sequence[str] | None = None) -> Iterator[Regular]:
    """Every series of a long frame, keyed by its label columns (all but ts and value by default)."""
    labels = [c for c in frame.columns if c not in ("ts", "value")] if by is None else list(by)
    if not labels:
        yield regular(frame, step_ms, key="series")
        return
    for values, part in frame.group_by(labels, maintain_order=True):
        names = dict(zip(labels, (str(v) for v in values), strict=True))
        yield regular(part, step_ms, key=series_key(names))


def to_frame(ms: npt.NDArray[np.int64], **columns: F64) -> pl.DataFrame:
    """A frame with a UTC ``ts`` column and float columns."""
    return pl.DataFrame(
        [pl.Series("ts", ms, dtype=pl.Int64).cast(TS), *(pl.Series(k, v) for k, v in columns.items())]
    )


def since_last_reset(series: Regular, drop_share: float = 0.5) -> Regular:
    """The part after the last one-step drop larger than ``drop_share`` of the series' range.

    Capacity metrics fill up and are emptied (a cleanup, log rotation, archive): what comes after
    the last emptying is what predicts the next exhaustion. Without such a drop, the whole series.
    """
    y = series.y
    if len(y) < 3:
        return series
    span = float(np.max(y) - np.min(y))
    drops = np.flatnonzero(np.diff(y) < -drop_share * span) if span > 0 else np.zeros(0, dtype=np.int64)
    if not len(drops):
        return series
    cut = int(drops[-1]) + 1
    return Regular(series.key, series.start_ms + cut * series.step_ms, series.step_ms, y[cut:])
