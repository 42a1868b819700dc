"""condition=predict: the least-squares line through the window's buckets per label set,
extended ``horizon`` past now (Prometheus' ``predict_linear``)."""

from __future__ import annotations

import numpy as np
import polars as pl

from core.alerts.conditions.base import MIN_TREND_POINTS, TREND_POINTS, Cycle, Element, Reader, buckets
from core.alerts.conditions.registry import Condition, register
from core.alerts.rules import Rule


def values(store: Reader, rule: Rule, cycle: Cycle) -> list[Element]:
    """Least-squares line over the window per label set, extended ``horizon`` past now."""
    assert rule.query is not None
    w = int(rule.window_s * 1000)
    df = buckets(store, rule, cycle, cycle.now_ms - w, cycle.now_ms, max(w // TREND_POINTS, 1000))
    if df.is_empty():
        return []
    keys = [c for c in df.columns if c not in ("ts", "value")]
    out: list[Element] = []
    frame = df.with_columns(pl.col("ts").dt.epoch("ms").alias("t")).drop_nulls("value")
    groups = frame.partition_by(keys, as_dict=True) if keys else {(): frame}
    target = cycle.now_ms + rule.horizon_s * 1000
    for part in groups.values():
        if part.height < MIN_TREND_POINTS:
            continue
        t = part["t"].to_numpy().astype(np.float64)
        slope, intercept = np.polyfit(t - t[0], part["value"].to_numpy(), 1)
        first = part.row(0, named=True)
        out.append(
            ({k: first[k] for k in keys if first[k] is not None}, float(intercept + slope * (target - t[0])))
        )
    return out


PREDICT = register(Condition("predict", values))
