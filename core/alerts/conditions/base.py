"""What every condition shares: the cycle, the store it reads, the window queries rules share.

A condition kind (threshold, absent, change, anomaly, predict, forecast, anomaly_score) is one
module of this package that registers a :class:`~core.alerts.conditions.registry.Condition`; the
helpers here turn a rule's query into per-label-set values over a window or in buckets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

from core.alerts.rules import Rule
from core.storage.tsdb.query import Query

Element = tuple[dict[str, str], float]
PromQL = Callable[[str, str, int], list[Element]]  # (source, expr, at_ms) -> instant vector
# (series key, its ts/value history, step_ms, horizon_ms) -> forecast frame ts, mean, lower, upper (None: undefined)
ForecastFn = Callable[[str, pl.DataFrame, int, int], "pl.DataFrame | None"]
ScoreFn = Callable[[str, pl.DataFrame], "float | None"]  # (series key, ts/value history) -> latest score
OWN_STORE = "pulse"  # a promql rule's source for PromQL evaluated by core.promql on Pulse's own store
MIN_BASELINE_POINTS = 10
TREND_POINTS, MIN_TREND_POINTS = 30, 5
RAW_WINDOW_MS = 3_600_000


class Reader(Protocol):
    def query(self, q: Query) -> pl.DataFrame: ...

    def instant_many(self, qs: Sequence[Query]) -> list[list[Element]]: ...


@dataclass
class Cycle:
    """One evaluation cycle: its time, the query results rules share, and the series models the
    forecast and anomaly-score conditions use (injected by the runtime: the capacity domain sits
    above alerts, so alerts never import it)."""

    now_ms: int
    external_url: str = ""
    cache: dict[tuple[object, ...], list[Element]] = field(default_factory=dict)
    queries: int = 0
    forecast: ForecastFn | None = None
    score: ScoreFn | None = None


def elements(df: pl.DataFrame) -> list[Element]:
    """Last value of each label set of a query result (columns ts, value, labels...)."""
    if df.is_empty():
        return []
    keys = [c for c in df.columns if c not in ("ts", "value")]
    ordered = df.sort("ts")
    last = ordered.group_by(keys, maintain_order=True).last() if keys else ordered.tail(1)
    out: list[Element] = []
    for row in last.iter_rows(named=True):
        value = row["value"]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        out.append(({k: row[k] for k in keys if row[k] is not None}, float(value)))
    return out


def window_query(rule: Rule, selector: str, end_ms: int, span_ms: int) -> tuple[tuple[object, ...], Query]:
    key = (selector, rule.over, span_ms, rule.across, rule.by, rule.quantile, end_ms)
    q = Query.parse(
        selector,
        end_ms - span_ms,
        end_ms,
        step_ms=span_ms + 1,  # one bucket holds the whole window
        over_time=rule.over,
        across=rule.across,
        by=rule.by,
        quantile=rule.quantile,
        # windows up to an hour read raw samples: 1 m rollups would cover only the whole minutes
        # inside the window (up to a minute short); longer ones lose under 2% to rollups
        resolution="raw" if span_ms <= RAW_WINDOW_MS else "auto",
    )
    return key, q


def query(store: Reader, rule: Rule, cycle: Cycle, selector: str, end_ms: int, span_ms: int) -> list[Element]:
    k, q = window_query(rule, selector, end_ms, span_ms)
    if k not in cycle.cache:
        cycle.cache[k] = elements(store.query(q))
        cycle.queries += 1
    return cycle.cache[k]


def window(store: Reader, rule: Rule, cycle: Cycle, end_ms: int, span_ms: int) -> list[Element]:
    """The rule's value per label set over [end - span, end]: query, or query / divide_by."""
    assert rule.query is not None
    num = query(store, rule, cycle, rule.query, end_ms, span_ms)
    if rule.divide_by is None:
        return num
    den = {label_key(lb): v for lb, v in query(store, rule, cycle, rule.divide_by, end_ms, span_ms)}
    low = rule.min_divisor
    return [(lb, v / d) for lb, v in num if (d := den.get(label_key(lb))) is not None and d != 0 and d >= low]


def buckets(
    store: Reader, rule: Rule, cycle: Cycle, start_ms: int, end_ms: int, step_ms: int
) -> pl.DataFrame:
    """The rule's aggregated value in buckets of ``step_ms`` over [start, end)."""
    assert rule.query is not None
    q = Query.parse(
        rule.query,
        start_ms,
        end_ms,
        step_ms=step_ms,
        over_time=rule.over,
        across=rule.across,
        by=rule.by,
        quantile=rule.quantile,
    )
    cycle.queries += 1
    return store.query(q)


def label_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def series_frames(df: pl.DataFrame) -> list[tuple[dict[str, str], pl.DataFrame]]:
    """A bucketed query result split per label set: (labels, frame of ts and value)."""
    if df.is_empty():
        return []
    keys = [c for c in df.columns if c not in ("ts", "value")]
    parts = df.partition_by(keys, as_dict=True, maintain_order=True) if keys else {(): df}
    out = []
    for part in parts.values():
        first = part.row(0, named=True)
        out.append(({k: first[k] for k in keys if first[k] is not None}, part.select("ts", "value")))
    return out
