"""Bulk reads of container usage: one store query per metric for every container at once.

:func:`read_usage` returns one row per container (``server``) with the statistics every
strategy needs: CPU and memory percentiles and peaks, raw points, history span, restarts, OOM
kills, throttled share, current requests and limits. Strategies never read the store.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl

from core.optimization.settings import UsageSettings
from core.views import Filters, Reader, selector

CPU, MEMORY = "container_cpu_usage_cores", "container_memory_working_set_bytes"
SPEC = {
    "cpu_request": "container_cpu_request_cores",
    "cpu_limit": "container_cpu_limit_cores",
    "memory_request": "container_memory_request_bytes",
    "memory_limit": "container_memory_limit_bytes",
}
COUNTERS = {
    "restarts": "container_restarts_total",
    "oom_kills": "container_oom_events_total",
    "throttled_periods": "container_cpu_cfs_throttled_periods_total",
    "periods": "container_cpu_cfs_periods_total",
}
KEYS = ("server", "host", "team", "session_id")
QUANTILES = (0.5, 0.75, 0.9, 0.95, 0.99)  # strategies take the nearest at or above theirs
USAGE_SCHEMA: dict[str, Any] = {
    **{k: pl.Utf8 for k in KEYS},
    "points": pl.Int64,
    "first_ms": pl.Int64,
    "last_ms": pl.Int64,
    **{f"cpu_p{round(q * 100)}": pl.Float64 for q in QUANTILES},
    "cpu_peak": pl.Float64,
    **{f"memory_p{round(q * 100)}": pl.Float64 for q in QUANTILES},
    "memory_peak": pl.Float64,
    **{k: pl.Float64 for k in SPEC},
    **{k: pl.Float64 for k in COUNTERS},
}


def _keyed(df: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, pl.Utf8).alias(k) for k in KEYS if k not in df.columns]
    return df.with_columns(missing).filter(pl.col("server").is_not_null())


def _per_server(
    reader: Reader, metric: str, start: int, end: int, step: int, over: str, f: Filters
) -> pl.DataFrame:
    return _keyed(reader.select(selector(metric, f), start, end, step_ms=step, over_time=over))


BUCKET_READS = {
    "cpu_avg": (CPU, "avg"),
    "cpu_max": (CPU, "max"),
    "points": (CPU, "count"),
    "memory_max": (MEMORY, "max"),
}


def _bucket(reader: Reader, name: str, start: int, end: int, step: int, f: Filters) -> pl.DataFrame:
    metric, over = BUCKET_READS[name]
    df = _per_server(reader, metric, start, end, step, over, f)
    return df.group_by("ts", *KEYS).agg(pl.col("value").max().alias(name))


def _join_buckets(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Per container and bucket: cpu_avg, cpu_max, points (raw samples) and memory_max (bytes)."""
    out = parts[0]
    for df in parts[1:]:
        out = out.join(df, on=["ts", *KEYS], how="full", coalesce=True, nulls_equal=True)
    return out.sort(*KEYS, "ts", nulls_last=True)


def _stats(b: pl.DataFrame, step_ms: int) -> pl.DataFrame:
    qs = [pl.col("cpu_avg").quantile(q, "linear").alias(f"cpu_p{round(q * 100)}") for q in QUANTILES]
    qs += [pl.col("memory_max").quantile(q, "linear").alias(f"memory_p{round(q * 100)}") for q in QUANTILES]
    return b.group_by(KEYS).agg(
        pl.col("points").sum().cast(pl.Int64),
        pl.col("ts").min().dt.epoch("ms").alias("first_ms"),
        (pl.col("ts").max().dt.epoch("ms") + step_ms).alias("last_ms"),
        *qs,
        pl.col("cpu_max").max().alias("cpu_peak"),
        pl.col("memory_max").max().alias("memory_peak"),
    )


def _latest(reader: Reader, metric: str, end_ms: int, f: Filters) -> pl.DataFrame:
    """The last value per container within the hour before ``end_ms``."""
    df = _per_server(reader, metric, end_ms - 3_600_000, end_ms, 3_600_000, "last", f)
    return df.sort("ts").group_by("server").agg(pl.col("value").last())


def _increase(reader: Reader, metric: str, start: int, end: int, f: Filters) -> pl.DataFrame:
    df = _per_server(reader, metric, start, end, end - start, "increase", f)
    return df.group_by("server").agg(pl.col("value").sum())


def read_usage(
    reader: Reader, end_ms: int, settings: UsageSettings | None = None, filters: Filters | None = None
) -> pl.DataFrame:
    """One row per container over ``settings.window_days`` before ``end_ms`` (schema ``USAGE_SCHEMA``).

    Twelve store queries, each for every container at once, run on ``settings.read_threads``
    threads (the store's reads spend most of their time outside the GIL: SQLite, zlib, polars).
    """
    settings = settings or UsageSettings()
    f = filters or Filters()
    step = settings.step_s * 1000
    start = end_ms - int(settings.window_days * 86_400_000)
    start = end_ms - -(-(end_ms - start) // step) * step  # whole buckets
    with ThreadPoolExecutor(max_workers=settings.read_threads) as pool:
        parts = [pool.submit(_bucket, reader, name, start, end_ms, step, f) for name in BUCKET_READS]
        specs = {n: pool.submit(_latest, reader, m, end_ms, f) for n, m in SPEC.items()}
        counters = {n: pool.submit(_increase, reader, m, start, end_ms, f) for n, m in COUNTERS.items()}
        b = _join_buckets([p.result() for p in parts])
        if b.is_empty():
            return pl.DataFrame(schema=USAGE_SCHEMA)
        out = _stats(b, step)
        for name, fut in [*specs.items(), *counters.items()]:
            out = out.join(fut.result().rename({"value": name}), on="server", how="left")
    return out.select(list(USAGE_SCHEMA)).cast(pl.Schema(USAGE_SCHEMA)).sort("server")
