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
    reader: Reader, metric: str, start: int, end: int, step: int, over: str, f: Filters, **kw: Any
) -> pl.DataFrame:
    return _keyed(reader.select(selector(metric, f), start, end, step_ms=step, over_time=over, **kw))


BUCKET_READS = {
    "cpu_avg": (CPU, "avg"),
    "cpu_max": (CPU, "max"),
    "points": (CPU, "count"),
    "memory_max": (MEMORY, "max"),
}


def _bucket(reader: Reader, name: str, start: int, end: int, step: int, f: Filters) -> pl.DataFrame:
    """One bucket read: per bucket and container, the largest value of its series."""
    metric, over = BUCKET_READS[name]
    df = _per_server(reader, metric, start, end, step, over, f)
    return df.group_by("ts", *KEYS).agg(pl.col("value").max().alias(name))


def _buckets_of(
    reader: Reader, metric: str, names: list[str], start: int, end: int, step: int, f: Filters
) -> dict[str, pl.DataFrame]:
    """:func:`_bucket` of several ``names`` of one metric, from one store read (one decode).

    The store computes every aggregation over the same series and buckets (``also_over_time``),
    so each frame is the one its own read would give.
    """
    (first, *more) = [BUCKET_READS[n][1] for n in names]
    df = _per_server(reader, metric, start, end, step, first, f, also_over_time=tuple(more))
    cols = {names[0]: "value", **{n: BUCKET_READS[n][1] for n in names[1:]}}
    both = df.group_by("ts", *KEYS).agg(pl.col(c).max().alias(n) for n, c in cols.items())
    return {n: both.select("ts", *KEYS, n) for n in names}


def _summary(name: str, b: pl.DataFrame, by: str | tuple[str, ...] = KEYS) -> pl.DataFrame:
    """One row per container of one bucket read: what the strategies need of it, and its span.

    Aggregating each read on its own and joining the 1,000-row summaries (not the buckets) keeps
    the joins small; a bucket missing from one read is ignored by the others' statistics, as a
    null in a joined row was. ``by``: the container's key columns, or the series id column.
    """
    v = pl.col(name)
    ts = [
        pl.col("ts").min().dt.epoch("ms").alias(f"{name}_first"),
        pl.col("ts").max().dt.epoch("ms").alias(f"{name}_last"),
    ]
    if name == "cpu_avg":
        stats = [v.quantile(q, "linear").alias(f"cpu_p{round(q * 100)}") for q in QUANTILES]
    elif name == "cpu_max":
        stats = [v.max().alias("cpu_peak")]
    elif name == "points":
        stats = [v.sum().alias("points")]
    else:
        stats = [v.quantile(q, "linear").alias(f"memory_p{round(q * 100)}") for q in QUANTILES]
        stats.append(v.max().alias("memory_peak"))
    return b.group_by(by).agg(*stats, *ts)


def _series_keys(reader: Reader, metric: str, f: Filters) -> pl.DataFrame | None:
    """series_id and KEYS of each series of ``metric`` with a server label; None when two series
    share their KEYS (one container in two series: its buckets are merged across them)."""
    found = reader.series(selector(metric, f))
    ids: list[int] = found["id"].to_list() if not found.is_empty() else []
    labels: list[dict[str, str]] = found["labels"].to_list() if not found.is_empty() else []
    keys = pl.DataFrame(
        {"series_id": ids, **{k: [lb.get(k) for lb in labels] for k in KEYS}},
        schema={"series_id": pl.Int64, **{k: pl.Utf8 for k in KEYS}},
    ).filter(pl.col("server").is_not_null())
    return None if keys.select(KEYS).is_duplicated().any() else keys


def _summaries_by_series(
    reader: Reader, metric: str, names: list[str], start: int, end: int, step: int, f: Filters
) -> dict[str, pl.DataFrame] | None:
    """:func:`_summary` of the :func:`_buckets_of` reads, computed per series id and labelled at
    the end (1,000 rows), not per bucket with label columns (336,000 rows for 14 days at 1 h).

    When each container has one series, the maximum across a container's series in a bucket is
    that series' value, so the summaries are the same. None when a container has several series
    (the caller then takes the general path). Labels come from ``series()`` after the read, so a
    series created in between has its labels.
    """
    (first, *more) = [BUCKET_READS[n][1] for n in names]
    sel = selector(metric, f)
    df = reader.select(
        sel, start, end, step_ms=step, over_time=first, also_over_time=tuple(more), series_ids=True
    )
    keys = _series_keys(reader, metric, f)
    if keys is None:
        return None
    cols = {names[0]: "value", **{n: BUCKET_READS[n][1] for n in names[1:]}}
    out = {}
    for name, col in cols.items():
        per = _summary(name, df.select("ts", "series_id", pl.col(col).alias(name)), "series_id")
        out[name] = keys.join(per, on="series_id", how="inner").drop("series_id")
    return out


def _summaries_of(
    reader: Reader, metric: str, names: list[str], start: int, end: int, step: int, f: Filters
) -> dict[str, pl.DataFrame]:
    """:func:`_summary` of each bucket read of ``metric``: per series when each container has one
    series, else from the buckets with label columns (the general path)."""
    fast = _summaries_by_series(reader, metric, names, start, end, step, f)
    if fast is not None:
        return fast
    return {n: _summary(n, b) for n, b in _buckets_of(reader, metric, names, start, end, step, f).items()}


def _stats(summaries: dict[str, pl.DataFrame], step_ms: int) -> pl.DataFrame:
    """Per container: points, first and last bucket, CPU and memory percentiles and peaks."""
    out: pl.DataFrame | None = None
    for summary in summaries.values():
        out = (
            summary
            if out is None
            else out.join(summary, on=KEYS, how="full", coalesce=True, nulls_equal=True)
        )
    assert out is not None
    firsts, lasts = [f"{n}_first" for n in summaries], [f"{n}_last" for n in summaries]
    return out.with_columns(
        pl.col("points").fill_null(0).cast(pl.Int64),
        pl.min_horizontal(firsts).alias("first_ms"),
        (pl.max_horizontal(lasts) + step_ms).alias("last_ms"),
    ).drop(*firsts, *lasts)


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

    Ten store queries (CPU's average, peak and count come from one), each for every container at
    once (the two bucket reads keyed by series id, labelled per container at the end), run on
    ``settings.read_threads`` threads (the store's reads spend much of their time outside the
    GIL: SQLite, zlib, polars).
    """
    settings = settings or UsageSettings()
    f = filters or Filters()
    step = settings.step_s * 1000
    start = end_ms - int(settings.window_days * 86_400_000)
    start = end_ms - -(-(end_ms - start) // step) * step  # whole buckets
    with ThreadPoolExecutor(max_workers=settings.read_threads) as pool:
        by_metric: dict[str, list[str]] = {}
        for name, (metric, _over) in BUCKET_READS.items():
            by_metric.setdefault(metric, []).append(name)
        reads = [
            pool.submit(_summaries_of, reader, m, ns, start, end_ms, step, f) for m, ns in by_metric.items()
        ]
        specs = {n: pool.submit(_latest, reader, m, end_ms, f) for n, m in SPEC.items()}
        counters = {n: pool.submit(_increase, reader, m, start, end_ms, f) for n, m in COUNTERS.items()}
        got = {n: b for r in reads for n, b in r.result().items()}
        summaries = {name: got[name] for name in BUCKET_READS}
        if all(b.is_empty() for b in summaries.values()):
            return pl.DataFrame(schema=USAGE_SCHEMA)
        out = _stats(summaries, step)
        for name, fut in [*specs.items(), *counters.items()]:
            out = out.join(fut.result().rename({"value": name}), on="server", how="left")
    return out.select(list(USAGE_SCHEMA)).cast(pl.Schema(USAGE_SCHEMA)).sort("server")
