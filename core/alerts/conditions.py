"""Evaluate a rule's query and condition: which label sets hold now, with which value.

Pulse rules query the store (one query per distinct query shape per cycle: rules that share a
query share its result); ``promql`` rules ask a Prometheus source through ``PromQL`` (injected,
so this module never talks HTTP). The result maps alert fingerprints to :class:`Active`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import polars as pl

from core.alerts.promfuncs import QueryFn
from core.alerts.rules import Rule
from core.alerts.state import Active
from core.alerts.templates import render
from core.kernel.records.alerts import fingerprint
from core.kernel.selector import parse_selector
from core.storage.tsdb.query import Query

Element = tuple[dict[str, str], float]
PromQL = Callable[[str, str, int], list[Element]]  # (source, expr, at_ms) -> instant vector
OWN_STORE = "pulse"  # a promql rule's source for PromQL evaluated by core.promql on Pulse's own store
MIN_BASELINE_POINTS = 10
TREND_POINTS, MIN_TREND_POINTS = 30, 5
RAW_WINDOW_MS = 3_600_000


class Reader(Protocol):
    def query(self, q: Query) -> pl.DataFrame: ...

    def instant_many(self, qs: Sequence[Query]) -> list[list[Element]]: ...


@dataclass
class Cycle:
    """One evaluation cycle: its time and the query results rules share."""

    now_ms: int
    external_url: str = ""
    cache: dict[tuple[object, ...], list[Element]] = field(default_factory=dict)
    queries: int = 0


def _elements(df: pl.DataFrame) -> list[Element]:
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


def _window_query(rule: Rule, selector: str, end_ms: int, span_ms: int) -> tuple[tuple[object, ...], Query]:
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


def _planned(rule: Rule, now_ms: int) -> list[tuple[tuple[object, ...], Query]]:
    """The window queries a rule will ask for in this cycle (trend and baseline ones aside)."""
    if rule.query is None or rule.condition == "predict":
        return []
    w = int(rule.window_s * 1000)
    ends = [now_ms] + ([now_ms - int(rule.change_window_s * 1000)] if rule.condition == "change" else [])
    sels = [rule.query] + ([rule.divide_by] if rule.divide_by else [])
    return [_window_query(rule, sel, end, w) for end in ends for sel in sels]


def prefetch(store: Reader, rules: Sequence[Rule], cycle: Cycle) -> None:
    """Run the window queries of many rules at once (the store shares reads between them)."""
    todo: dict[tuple[object, ...], Query] = {}
    for rule in rules:
        try:
            todo.update((k, q) for k, q in _planned(rule, cycle.now_ms) if k not in cycle.cache)
        except Exception:  # a rule with a bad query fails on its own, when it is evaluated
            continue
    if not todo:
        return
    vectors = store.instant_many(list(todo.values()))
    cycle.queries += len(todo)
    for key, vector in zip(todo, vectors, strict=True):
        cycle.cache[key] = vector


def _query(
    store: Reader, rule: Rule, cycle: Cycle, selector: str, end_ms: int, span_ms: int
) -> list[Element]:
    key, q = _window_query(rule, selector, end_ms, span_ms)
    if key not in cycle.cache:
        cycle.cache[key] = _elements(store.query(q))
        cycle.queries += 1
    return cycle.cache[key]


def _window(store: Reader, rule: Rule, cycle: Cycle, end_ms: int, span_ms: int) -> list[Element]:
    """The rule's value per label set over [end - span, end]: query, or query / divide_by."""
    assert rule.query is not None
    num = _query(store, rule, cycle, rule.query, end_ms, span_ms)
    if rule.divide_by is None:
        return num
    den = {_key(lb): v for lb, v in _query(store, rule, cycle, rule.divide_by, end_ms, span_ms)}
    low = rule.min_divisor
    return [(lb, v / d) for lb, v in num if (d := den.get(_key(lb))) is not None and d != 0 and d >= low]


def _trend(store: Reader, rule: Rule, cycle: Cycle) -> list[Element]:
    """Least-squares line over the window per label set, extended ``horizon`` past now."""
    assert rule.query is not None
    w = int(rule.window_s * 1000)
    df = _buckets(store, rule, cycle, cycle.now_ms - w, cycle.now_ms, max(w // TREND_POINTS, 1000))
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


def _buckets(
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


def _baseline(
    store: Reader, rule: Rule, cycle: Cycle
) -> dict[tuple[tuple[str, str], ...], tuple[float, float]]:
    """Mean and standard deviation of the rule's windowed value over its baseline, per label set."""
    assert rule.query is not None
    w = int(rule.window_s * 1000)
    end = cycle.now_ms - w
    df = _buckets(store, rule, cycle, end - int(rule.baseline_s * 1000), end, w)
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


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def rule_values(store: Reader, rule: Rule, cycle: Cycle, promql: PromQL | None) -> list[Element]:
    """The label sets the rule looks at now, each with the value its condition compares."""
    if rule.promql is not None:
        if promql is None:
            raise ValueError(f"rule {rule.alert!r} uses promql but no Prometheus source is configured")
        return promql(rule.source or OWN_STORE, rule.promql, cycle.now_ms)
    if rule.condition == "predict":
        return _trend(store, rule, cycle)
    w = int(rule.window_s * 1000)
    now = _window(store, rule, cycle, cycle.now_ms, w)
    if rule.condition == "absent":
        if now:
            return []
        sel = parse_selector(rule.query or "")
        return [({m.label: m.value for m in sel.matchers if m.op == "="}, 1.0)]
    if rule.condition == "change":
        before = {
            _key(lb): v
            for lb, v in _window(store, rule, cycle, cycle.now_ms - int(rule.change_window_s * 1000), w)
        }
        out = []
        for lb, v in now:
            old = before.get(_key(lb))
            if old is not None and old != 0:
                out.append((lb, (v - old) / abs(old)))
        return out
    if rule.condition == "anomaly":
        base = _baseline(store, rule, cycle)
        out = []
        for lb, v in now:
            if (ms := base.get(_key(lb))) is not None:
                out.append((lb, (v - ms[0]) / ms[1]))
        return out
    return now


def active_set(
    rule: Rule,
    elements: Sequence[Element],
    firing: set[str],
    external_url: str = "",
    *,
    now_ms: int | None = None,
    query: QueryFn | None = None,
    external_labels: Mapping[str, str] | None = None,
) -> dict[str, Active]:
    """The label sets whose condition holds, as alerts: labels, rendered annotations, value.

    As in Prometheus, label and annotation templates see the element's own labels (with
    ``__name__`` when the query kept it) as ``$labels``, not the rule's; ``__name__`` is then
    dropped from the alert's labels.
    """
    out: dict[str, Active] = {}
    now_s = None if now_ms is None else now_ms / 1000

    def expand(text: str, lb: dict[str, str], value: float) -> str:
        return render(
            text,
            lb,
            value,
            external_url,
            rule=rule.alert,
            now_s=now_s,
            query=query,
            external_labels=external_labels,
        )

    for lb, value in elements:
        own = {k: v for k, v in lb.items() if k != "__name__"}
        base = {**own, "alertname": rule.alert, "severity": rule.severity}
        extra = {k: expand(v, lb, value) for k, v in rule.labels.items()}
        labels = {**base, **extra}
        fp = fingerprint(labels)
        holds = (
            True if rule.promql is not None or rule.condition == "absent" else rule.holds(value, fp in firing)
        )
        if not holds:
            continue
        notes = {k: expand(v, lb, value) for k, v in rule.annotations.items()}
        out[fp] = Active(labels, notes, value)
    return out
