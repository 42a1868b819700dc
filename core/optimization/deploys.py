"""Change events per server: deploys (``mcp_server_deploys_total`` increments) and config changes
(a container's CPU or memory request or limit taking a new value).

Events are located to the store bucket in which the counter went up or the value changed, so
their time is known within one ``step_ms``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from core.optimization.usage import SPEC
from core.views import Filters, Reader, selector

DEPLOYS = "mcp_server_deploys_total"
EVENT_SCHEMA: dict[str, Any] = {"server": pl.Utf8, "ts_ms": pl.Int64, "kind": pl.Utf8, "detail": pl.Utf8}


def _ms(df: pl.DataFrame) -> pl.Expr:
    return pl.col("ts").dt.epoch("ms").alias("ts_ms")


def deploy_events(
    reader: Reader, start_ms: int, end_ms: int, step_ms: int, filters: Filters | None = None
) -> pl.DataFrame:
    """One row per bucket in which a server's deploy counter went up: server, ts_ms, kind, detail."""
    df = reader.select(selector(DEPLOYS, filters), start_ms, end_ms, step_ms=step_ms, over_time="increase")
    if df.is_empty() or "server" not in df.columns:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    hits = df.filter(pl.col("value") > 0).group_by("server", "ts").agg(pl.col("value").sum())
    return hits.select(
        "server",
        _ms(hits),
        pl.lit("deploy").alias("kind"),
        pl.format("{} deploy(s)", pl.col("value").cast(pl.Int64)).alias("detail"),
    ).sort("server", "ts_ms")


def config_events(
    reader: Reader, start_ms: int, end_ms: int, step_ms: int, filters: Filters | None = None
) -> pl.DataFrame:
    """One row per bucket in which a request or limit of a server changed value."""
    frames = []
    for name, metric in SPEC.items():
        df = reader.select(selector(metric, filters), start_ms, end_ms, step_ms=step_ms, over_time="last")
        if df.is_empty() or "server" not in df.columns:
            continue
        df = df.group_by("server", "ts").agg(pl.col("value").last()).sort("server", "ts")
        prev = pl.col("value").shift(1).over("server")
        changed = df.with_columns(prev.alias("prev")).filter(
            pl.col("prev").is_not_null() & (pl.col("value") != pl.col("prev"))
        )
        frames.append(
            changed.select(
                "server",
                _ms(changed),
                pl.lit("config").alias("kind"),
                pl.format("{} {} -> {}", pl.lit(name), pl.col("prev"), pl.col("value")).alias("detail"),
            )
        )
    if not frames:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    return pl.concat(frames).cast(pl.Schema(EVENT_SCHEMA)).sort("server", "ts_ms")


def change_events(
    reader: Reader, start_ms: int, end_ms: int, step_ms: int, filters: Filters | None = None
) -> pl.DataFrame:
    """Deploys and config changes together, by server and time."""
    both = [
        deploy_events(reader, start_ms, end_ms, step_ms, filters),
        config_events(reader, start_ms, end_ms, step_ms, filters),
    ]
    return pl.concat(both).cast(pl.Schema(EVENT_SCHEMA)).sort("server", "ts_ms")


def nearest(events: pl.DataFrame, server: str, ts_ms: int, within_ms: int) -> dict[str, Any] | None:
    """The event of ``server`` closest to ``ts_ms`` within ``within_ms`` (earlier wins a tie), or None."""
    own = events.filter((pl.col("server") == server) & ((pl.col("ts_ms") - ts_ms).abs() <= within_ms))
    if own.is_empty():
        return None
    ranked = own.with_columns((pl.col("ts_ms") - ts_ms).abs().alias("dist")).sort("dist", "ts_ms")
    return ranked.row(0, named=True)
