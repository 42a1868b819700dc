"""Where the time goes: tools ranked by their share of total call time, and servers whose
latency rises with load.

Both take the rows of :func:`core.views.performance.tool_buckets`. Call time is approximated
as calls times the median latency (p50) of each bucket: the demo and most exporters give
quantiles, not a latency sum.
"""

from __future__ import annotations

import numpy as np
import polars as pl

TOOL = "gen_ai_tool_name"


def tool_time_shares(buckets: pl.DataFrame) -> pl.DataFrame:
    """Per server and tool: calls, approximate call time (s), its share of the total, rank."""
    df = buckets.filter(pl.col("calls") > 0).with_columns((pl.col("calls") * pl.col("p50")).alias("time_s"))
    per = df.group_by("server", TOOL).agg(
        pl.col("calls").sum(), pl.col("time_s").sum(), pl.col("p95").median().alias("p95_median")
    )
    total = per["time_s"].sum() or 1.0
    return (
        per.with_columns((pl.col("time_s") / total).alias("share"))
        .sort("time_s", descending=True)
        .with_row_index("rank", offset=1)
    )


def latency_vs_load(buckets: pl.DataFrame, min_corr: float = 0.5, min_ratio: float = 1.2) -> pl.DataFrame:
    """Per server: Spearman correlation of call rate and p95, and p95 at busy vs quiet times.

    ``busy_quiet_ratio`` is the median p95 in the busiest quarter of buckets over the quietest
    quarter; ``rises_with_load`` when the correlation and the ratio pass their thresholds.
    """
    per = (
        buckets.group_by("ts", "server")
        .agg(
            pl.col("calls_rate").sum().alias("load"),
            ((pl.col("p95") * pl.col("calls")).sum() / pl.col("calls").sum()).alias("p95"),
        )
        .drop_nulls()
        .filter(pl.col("p95").is_not_nan())
    )
    rows = []
    for (server,), g in per.group_by("server"):
        load, p95 = g["load"].to_numpy(), g["p95"].to_numpy()
        if load.size < 8 or np.ptp(load) == 0:
            continue
        corr = float(np.corrcoef(np.argsort(np.argsort(load)), np.argsort(np.argsort(p95)))[0, 1])
        lo, hi = np.quantile(load, [0.25, 0.75])
        ratio = float(np.median(p95[load >= hi]) / np.median(p95[load <= lo]))
        rows.append({"server": server, "spearman": corr, "busy_quiet_ratio": ratio})
    out = pl.DataFrame(
        rows, schema={"server": pl.Utf8, "spearman": pl.Float64, "busy_quiet_ratio": pl.Float64}
    )
    flag = (pl.col("spearman") >= min_corr) & (pl.col("busy_quiet_ratio") >= min_ratio)
    return out.with_columns(flag.alias("rises_with_load")).sort("busy_quiet_ratio", descending=True)
