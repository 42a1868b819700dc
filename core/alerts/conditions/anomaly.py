"""condition=anomaly: a z-score of the windowed value against the mean and standard deviation of
the same windows over the ``baseline`` before it (``$value`` is the score). For seasonal series
the robust seasonal score is ``anomaly_score``."""

from __future__ import annotations

import polars as pl

from core.alerts.conditions import threshold
from core.alerts.conditions.base import (
    MIN_BASELINE_POINTS,
    Cycle,
    Element,
    Reader,
    buckets,
    label_key,
    window,
)
from core.alerts.conditions.registry import Condition, register
from core.alerts.rules import Rule


def baseline(
    store: Reader, rule: Rule, cycle: Cycle
) -> dict[tuple[tuple[str, str], ...], tuple[float, float]]:
    """Mean and standard deviation of the rule's windowed value over its baseline, per label set."""
    assert rule.query is not None
    w = int(rule.window_s * 1000)
    end = cycle.now_ms - w
    df = buckets(store, rule, cycle, end - int(rule.baseline_s * 1000), end, w)
    if df.is_empty():
        return {}
    keys = [c for c in df.columns if c not in ("ts", "value")]
    stats = df.group_by(keys or pl.lit(1).alias("_all")).agg(
        pl.col("value").mean().alias("mean"), pl.col("value").std().alias("std"), pl.len().alias("n")
    )
    out = {}
    for row in stats.iter_rows(named=True):
        if row["n"] >= MIN_BASELINE_POINTS and row["std"]:
            out[tuple(sorted((k, row[k]) for k in keys if row[k] is not None))] = (row["mean"], row["std"])
    return out


def values(store: Reader, rule: Rule, cycle: Cycle) -> list[Element]:
    base = baseline(store, rule, cycle)
    out = []
    for lb, v in window(store, rule, cycle, cycle.now_ms, int(rule.window_s * 1000)):
        if (ms := base.get(label_key(lb))) is not None:
            out.append((lb, (v - ms[0]) / ms[1]))
    return out


ANOMALY = register(Condition("anomaly", values, threshold.planned))
