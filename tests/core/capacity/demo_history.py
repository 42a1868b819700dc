"""Demo history generated in-process (no database): the demo model evaluated on a regular grid."""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from collectors.demo.model import Model
from collectors.demo.topology import build_topology
from core.kernel.settings import DemoSettings

WEEK_MS, DAY_MS, HOUR_MS, MIN_MS = 604_800_000, 86_400_000, 3_600_000, 60_000
START = 2959 * WEEK_MS  # Thursday 2026-09-17 00:00 UTC, a cycle boundary
STEP_MS = 5 * MIN_MS
CHUNK = 2048


@cache
def model(seed: int = 42) -> Model:
    return Model(build_topology(DemoSettings(seed=seed)))


@cache
def history(start_ms: int, end_ms: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times ms, values (N, T), present (N, T)) of every demo series on the STEP_MS grid."""
    ts = np.arange(start_ms, end_ms, STEP_MS, dtype=np.int64)
    parts = [model(seed).evaluate(ts[i : i + CHUNK] // 1000) for i in range(0, len(ts), CHUNK)]
    return ts, np.concatenate([p[0] for p in parts], axis=1), np.concatenate([p[1] for p in parts], axis=1)


def frame(metric: str, start_ms: int, end_ms: int, seed: int = 42, **labels: str) -> pl.DataFrame:
    """Long frame (ts, value, label columns) of the series of one metric matching ``labels``."""
    ts, values, present = history(start_ms, end_ms, seed)
    rows = [
        i
        for i, (m, lab) in enumerate(model(seed).keys)
        if m == metric and all((k, v) in lab for k, v in labels.items())
    ]
    parts = []
    for i in rows:
        keep = present[i]
        part = pl.DataFrame({"ts": ts[keep], "value": values[i][keep]})
        parts.append(part.with_columns(**{k: pl.lit(v) for k, v in model(seed).keys[i][1]}))
    assert parts, f"no demo series {metric} {labels}"
    return pl.concat(parts, how="diagonal").with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))


def total(metric: str, start_ms: int, end_ms: int, **labels: str) -> pl.DataFrame:
    """The sum across the matching series per time (an aggregate like fleet memory)."""
    return frame(metric, start_ms, end_ms, **labels).group_by("ts").agg(pl.col("value").sum()).sort("ts")


def counter_rate(metric: str, start_ms: int, end_ms: int, **labels: str) -> pl.DataFrame:
    """Per-second rate summed across series, resets handled (a drop counts the new value)."""
    df = frame(metric, start_ms, end_ms, **labels)
    keys = [c for c in df.columns if c not in ("ts", "value")]
    d = pl.col("value").diff().over(keys)
    inc = pl.when(d < 0).then(pl.col("value")).otherwise(d)
    per = df.sort("ts").with_columns(rate=inc / (STEP_MS / 1000)).drop_nulls("rate")
    return per.group_by("ts").agg(pl.col("rate").sum().alias("value")).sort("ts")
