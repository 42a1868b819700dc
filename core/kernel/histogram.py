"""``histogram_quantile`` over classic (bucketed) histograms, with Prometheus's semantics.

The input is a frame of cumulative bucket counts, one row per bucket: any group columns (labels,
a time column...), ``le`` (the upper bound, a string such as ``"0.5"`` or ``"+Inf"``, or a number)
and ``value``. Per group, as PromQL's ``histogram_quantile(q, ...)`` does:

- ``q`` < 0 gives -Inf, ``q`` > 1 gives +Inf, NaN gives NaN;
- buckets are sorted by bound, rows with the same bound are added up, an ``le`` that is not a
  number is ignored; without a ``+Inf`` bucket, with fewer than two buckets or no observations the
  result is NaN;
- counts that go down (a scrape racing an observation) are raised to the count before them, and
  differences within a relative 1e-12 are ignored;
- the quantile is interpolated linearly inside the bucket that holds rank ``q x count``; the
  first bucket starts at 0 (unless its bound is <= 0: then that bound is the answer); a rank in
  the +Inf bucket gives the highest finite bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

SMALL_DELTA = 1e-12


def _bound(le: object) -> float:
    try:
        return float(le)  # type: ignore[arg-type]  # "+Inf", "0.5", 0.5
    except (TypeError, ValueError):
        return math.nan


def bucket_quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float:
    """One histogram's quantile from its bucket bounds and cumulative counts (see module doc)."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    merged: dict[float, float] = {}
    for b, c in zip(bounds, counts, strict=True):
        if not math.isnan(b) and c is not None:
            merged[b] = merged.get(b, 0.0) + float(c)
    buckets = sorted(merged.items())
    if not buckets or buckets[-1][0] != math.inf or len(buckets) < 2:
        return math.nan
    les = [b for b, _ in buckets]
    cum = [c for _, c in buckets]
    prev = cum[0]
    for i in range(1, len(cum)):
        cur = cum[i]
        if cur == prev:
            continue
        if math.isclose(prev, cur, rel_tol=SMALL_DELTA) or cur < prev:
            cum[i] = prev
            continue
        prev = cur
    observations = cum[-1]
    if observations == 0 or math.isnan(observations):
        return math.nan
    rank = q * observations
    b = next((i for i in range(len(cum) - 1) if cum[i] >= rank), len(cum) - 1)
    if b == len(cum) - 1:
        return les[-2]
    if b == 0 and les[0] <= 0:
        return les[0]
    start, end, count = 0.0, les[b], cum[b]
    if b > 0:
        start, count, rank = les[b - 1], cum[b] - cum[b - 1], rank - cum[b - 1]
    return start + (end - start) * (rank / count) if count else math.nan


def histogram_quantile(q: float, buckets: pl.DataFrame, le: str = "le", value: str = "value") -> pl.DataFrame:
    """Per group (every column but ``le`` and ``value``), the ``q`` quantile in column ``value``.

    Groups come out sorted by their columns; an empty frame gives an empty frame.
    """
    groups = [c for c in buckets.columns if c not in (le, value)]
    if buckets.is_empty():
        return buckets.select([*groups, pl.col(value).cast(pl.Float64)]).clear()
    frame = buckets.with_columns(
        pl.col(le).map_elements(_bound, return_dtype=pl.Float64).alias("__le"),
        pl.col(value).cast(pl.Float64),
    )
    if groups:
        agg = frame.group_by(groups, maintain_order=True).agg(pl.col("__le"), pl.col(value))
    else:
        agg = frame.select(pl.col("__le").implode(), pl.col(value).implode())
    result = [
        bucket_quantile(q, les, counts)
        for les, counts in zip(agg["__le"].to_list(), agg[value].to_list(), strict=True)
    ]
    column = pl.Series(value, result, dtype=pl.Float64)
    return agg.select(groups).with_columns(column).sort(groups) if groups else column.to_frame()
