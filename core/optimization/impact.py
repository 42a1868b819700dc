"""Did an applied recommendation help? Equal windows before and after the time it was applied,
compared metric by metric with a bootstrap confidence interval of the change in the mean.

For a right-sized server: what it costs (requests priced with ``PriceSettings``) and its requests
should fall; its usage should not change (the work is the same); throttling, restarts and OOM
kills should not rise. A verdict is given only when the interval excludes no change.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
from pydantic import Field

from core.optimization.settings import HOURS_PER_MONTH, PriceSettings, Section
from core.optimization.usage import COUNTERS, CPU, MEMORY, SPEC
from core.views import Reader, selector

GIB = float(1 << 30)
Better = Literal["lower", "same"]
# name -> (metric, over time, which way is better, scale)
GAUGES: dict[str, tuple[str, str, Better, float]] = {
    "cpu_request_cores": (SPEC["cpu_request"], "avg", "lower", 1.0),
    "memory_request_gib": (SPEC["memory_request"], "avg", "lower", 1 / GIB),
    "cpu_usage_cores": (CPU, "avg", "same", 1.0),
    "memory_working_set_gib": (MEMORY, "max", "same", 1 / GIB),
    "restarts": (COUNTERS["restarts"], "increase", "lower", 1.0),
    "oom_kills": (COUNTERS["oom_kills"], "increase", "lower", 1.0),
}
SCHEMA = {
    "metric": pl.Utf8,
    "better": pl.Utf8,
    "before": pl.Float64,
    "after": pl.Float64,
    "change": pl.Float64,
    "change_pct": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "buckets_before": pl.Int64,
    "buckets_after": pl.Int64,
    "verdict": pl.Utf8,
}


class ImpactSettings(Section):
    """The windows compared and how sure the verdict must be."""

    window_hours: float = Field(
        72, ge=1, le=24 * 60, description="Length of each window, before and after (hours)"
    )
    step_s: int = Field(
        3600, ge=60, le=86_400, description="Bucket width: one value per bucket and metric (seconds)"
    )
    confidence: float = Field(0.95, ge=0.5, le=0.999, description="Confidence of the interval of the change")
    resamples: int = Field(2000, ge=100, le=100_000, description="Bootstrap resamples")
    min_buckets: int = Field(6, ge=2, le=10_000, description="Buckets each window needs for a verdict")


def windows(applied_ms: int, now_ms: int, s: ImpactSettings) -> tuple[int, int, int]:
    """(start, applied, end): equal windows, the after window cut at now and aligned to buckets."""
    step = s.step_s * 1000
    span = min(int(s.window_hours * 3_600_000), now_ms - applied_ms) // step * step
    return applied_ms - span, applied_ms, applied_ms + span


def measure(
    reader: Reader,
    server: str,
    applied_ms: int,
    now_ms: int,
    s: ImpactSettings | None = None,
    prices: PriceSettings | None = None,
) -> pl.DataFrame:
    """One row per metric (``SCHEMA``); an empty frame when the after window is not long enough yet."""
    s, prices = s or ImpactSettings(), prices or PriceSettings()
    start, mid, end = windows(applied_ms, now_ms, s)
    if end - mid < s.min_buckets * s.step_s * 1000:
        return pl.DataFrame(schema=SCHEMA)
    series = {
        name: _buckets(reader, m, over, server, start, end, s.step_s) * scale
        for name, (m, over, _, scale) in GAUGES.items()
    }
    throttled = _buckets(reader, COUNTERS["throttled_periods"], "increase", server, start, end, s.step_s)
    periods = _buckets(reader, COUNTERS["periods"], "increase", server, start, end, s.step_s)
    series["throttled_ratio"] = throttled / np.where(periods > 0, periods, np.nan)
    cpu, gib = (np.nan_to_num(series[k]) for k in ("cpu_request_cores", "memory_request_gib"))
    cost = (cpu * prices.cpu_core_hour + gib * prices.memory_gib_hour) * HOURS_PER_MONTH
    series["cost_monthly"] = np.where(
        np.isnan(series["cpu_request_cores"]) & np.isnan(series["memory_request_gib"]), np.nan, cost
    )
    better = {
        **{n: b for n, (_, _, b, _) in GAUGES.items()},
        "throttled_ratio": "lower",
        "cost_monthly": "lower",
    }
    n = (end - start) // (s.step_s * 1000) // 2
    rng = np.random.default_rng(0)  # the same data gives the same interval
    rows = [compare(name, better[name], v[:n], v[n:], s, rng) for name, v in series.items()]
    order = [
        "cost_monthly",
        "cpu_request_cores",
        "memory_request_gib",
        "cpu_usage_cores",
        "memory_working_set_gib",
        "throttled_ratio",
        "restarts",
        "oom_kills",
    ]
    return pl.DataFrame(rows, schema=SCHEMA).sort(
        pl.col("metric").replace_strict(order, list(range(len(order))))
    )


def _buckets(
    reader: Reader, metric: str, over: str, server: str, start: int, end: int, step_s: int
) -> np.ndarray:
    """Values per bucket from ``start`` to ``end`` (NaN where nothing was stored), summed over series."""
    df = reader.select(selector(metric, server=server), start, end, step_ms=step_s * 1000, over_time=over)
    out = np.full((end - start) // (step_s * 1000), np.nan)
    if df.is_empty():
        return out
    per = df.group_by("ts").agg(pl.col("value").sum()).with_columns(pl.col("ts").dt.epoch("ms").alias("ms"))
    for ms, value in per.select("ms", "value").iter_rows():
        i = (int(ms) - start) // (step_s * 1000)
        if 0 <= i < len(out):
            out[i] = value
    return out


def compare(
    name: str, better: str, before: np.ndarray, after: np.ndarray, s: ImpactSettings, rng: np.random.Generator
) -> dict[str, object]:
    b, a = before[~np.isnan(before)], after[~np.isnan(after)]
    row: dict[str, object] = {
        "metric": name,
        "better": better,
        "buckets_before": len(b),
        "buckets_after": len(a),
    }
    if len(b) < s.min_buckets or len(a) < s.min_buckets:
        return {**row, "verdict": "not enough data"}
    change = float(a.mean() - b.mean())
    diffs = rng.choice(a, (s.resamples, len(a))).mean(axis=1) - rng.choice(b, (s.resamples, len(b))).mean(
        axis=1
    )
    tail = (1 - s.confidence) / 2
    lo, hi = (float(x) for x in np.quantile(diffs, [tail, 1 - tail]))
    if lo <= 0 <= hi or (lo == hi == 0):
        verdict = "no change"
    elif better == "same":
        verdict = "changed"
    else:
        verdict = "improved" if hi < 0 else "worse"
    pct = 100 * change / abs(b.mean()) if b.mean() else None
    return {
        **row,
        "before": float(b.mean()),
        "after": float(a.mean()),
        "change": change,
        "change_pct": pct,
        "ci_low": lo,
        "ci_high": hi,
        "verdict": verdict,
    }
