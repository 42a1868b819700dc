"""MTTA and MTTR: median and 90th percentile per team and severity.

- time to acknowledge = first acknowledgement - opened, over acknowledged incidents only
  (an incident resolved without an acknowledgement has no TTA, as in PagerDuty);
- time to resolve = final resolution - opened, over resolved incidents;
- an incident affecting several teams counts once for each of them; one without a team label is
  counted under ``(no team)``;
- percentiles interpolate linearly between the closest ranks (numpy's default): the p90 of
  [60, 120, 300] seconds is 120 + 0.8 * (300 - 120) = 264.

Input: one row per incident and team (``core.storage.repos.incidents.incident_times``); output seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

GROUPINGS = ("team", "severity")
OUT_COLUMNS = pl.Schema(
    {
        "incidents": pl.UInt32,
        "acknowledged": pl.UInt32,
        "resolved": pl.UInt32,
        "mtta_median_s": pl.Float64,
        "mtta_p90_s": pl.Float64,
        "mttr_median_s": pl.Float64,
        "mttr_p90_s": pl.Float64,
    }
)


def mtta_mttr(times: pl.DataFrame, by: Sequence[str] = GROUPINGS) -> pl.DataFrame:
    """One row per group of ``by`` (a subset of team, severity; empty: one overall row), sorted."""
    by = list(by)
    if bad := [b for b in by if b not in GROUPINGS]:
        raise ValueError(f"cannot group MTTA/MTTR by {bad}; use {GROUPINGS}")
    if "team" not in by:  # each incident once, whatever its teams
        times = times.unique("id", keep="first", maintain_order=True)
    df = times.with_columns(
        ((pl.col("acked_ms") - pl.col("opened_ms")) / 1000).alias("tta"),
        ((pl.col("resolved_ms") - pl.col("opened_ms")) / 1000).alias("ttr"),
    )
    aggs = [
        pl.col("id").n_unique().cast(pl.UInt32).alias("incidents"),
        pl.col("tta").count().cast(pl.UInt32).alias("acknowledged"),
        pl.col("ttr").count().cast(pl.UInt32).alias("resolved"),
        pl.col("tta").median().alias("mtta_median_s"),
        pl.col("tta").quantile(0.9, interpolation="linear").alias("mtta_p90_s"),
        pl.col("ttr").median().alias("mttr_median_s"),
        pl.col("ttr").quantile(0.9, interpolation="linear").alias("mttr_p90_s"),
    ]
    if not by:
        return df.select(aggs).cast(OUT_COLUMNS) if not df.is_empty() else pl.DataFrame(schema=OUT_COLUMNS)
    schema = pl.Schema([*((b, pl.Utf8()) for b in by), *OUT_COLUMNS.items()])
    if df.is_empty():
        return pl.DataFrame(schema=schema)
    return df.group_by(by).agg(aggs).sort(by).cast(schema)
