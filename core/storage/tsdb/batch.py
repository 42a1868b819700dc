"""Many queries at once: what an alerting cycle asks for.

Queries that differ only in their label matchers, ``across`` and ``by`` share one series lookup,
one read and one over-time aggregation ("a plan"); each then takes its own series from it.
:func:`run_instant` answers with instant vectors (label set, latest bucket value) without
building a DataFrame per query, which is most of the cost when a thousand rules each select
a handful of series.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import polars as pl
from sqlalchemy.engine import Connection

from core.kernel.selector import Selector
from core.kernel.settings import RetentionSettings
from core.storage.tsdb.matching import matching_ids
from core.storage.tsdb.query import (
    BUCKET,
    SID,
    Query,
    auto_step,
    empty_result,
    finish,
    per_series,
    pick_resolution,
)
from core.storage.tsdb.read import select_series
from core.storage.tsdb.window import fits, window_values

Element = tuple[dict[str, str], float]


@dataclass
class Plan:
    """Queries sharing one series lookup and one read: the first one stands for them all."""

    members: list[int]  # indexes of the queries
    wanted: dict[int, list[int]]  # series ids of each member
    union: list[int]  # every member's series, sorted
    label_of: dict[int, dict[str, str]]
    query: Query
    step_ms: int
    resolution: str

    def frame(self, conn: Connection) -> pl.DataFrame:
        """The shared per-series frame (``query.per_series``)."""
        labels = [self.label_of[s] for s in self.union]
        return per_series(conn, self.query, self.union, labels, self.step_ms, self.resolution)


def _plans(
    conn: Connection, qs: Sequence[Query], retention: RetentionSettings, now_ms: int
) -> Iterator[Plan]:
    groups: dict[tuple[str, int, int, int, str, str, float, tuple[str, ...], bool], list[int]]
    groups = defaultdict(list)
    for i, q in enumerate(qs):
        q.validate()
        step = q.step_ms or auto_step(q.start_ms, q.end_ms)
        res = pick_resolution(q, step, retention, now_ms)
        key = (q.selector.metric, q.start_ms, q.end_ms, step, res, q.over_time, q.quantile, q.also_over_time)
        groups[(*key, q.series_ids)].append(i)  # with series_ids, a plan's frame has no label columns
    for (metric, _start, _end, step, res, *_same), members in groups.items():
        found = select_series(conn, Selector(metric))
        label_of = dict(zip(found["id"].to_list(), found["labels"].to_list(), strict=True))
        picked = matching_ids(label_of, [qs[i].selector for i in members])
        wanted = dict(zip(members, picked, strict=True))
        union = sorted({sid for ids in wanted.values() for sid in ids})
        if union:
            yield Plan(members, wanted, union, label_of, qs[members[0]], step, res)


def run_queries(
    conn: Connection, qs: Sequence[Query], retention: RetentionSettings, now_ms: int
) -> list[pl.DataFrame]:
    """Each query's result, as ``run_query`` would give it."""
    out = [empty_result(q) for q in qs]
    for plan in _plans(conn, qs, retention, now_ms):
        frame = plan.frame(conn)
        for i in plan.members:
            if ids := plan.wanted[i]:
                names = {k for sid in ids for k in plan.label_of[sid]}
                out[i] = finish(frame.filter(pl.col(SID).is_in(ids)), qs[i], names)
    return out


def run_instant(
    conn: Connection, qs: Sequence[Query], retention: RetentionSettings, now_ms: int
) -> list[list[Element]]:
    """Each query's latest bucket per label set (per series, or per ``by`` group with ``across``)."""
    out: list[list[Element]] = [[] for _ in qs]
    for plan in _plans(conn, qs, retention, now_ms):
        members, wanted, label_of = plan.members, plan.wanted, plan.label_of
        across = any(qs[i].across is not None for i in members)
        if not across and fits(plan.query, plan.step_ms, plan.resolution):
            value_of = window_values(conn, plan.query, plan.union, plan.step_ms)
            value_of = {s: v for s, v in value_of.items() if v == v}  # NaN: no value, as below
        else:
            frame = plan.frame(conn)
            last = (
                frame.sort(BUCKET)
                .group_by(SID)
                .last()
                .drop_nulls("value")
                .filter(pl.col("value").is_not_nan())
            )
            value_of = dict(zip(last[SID].to_list(), last["value"].to_list(), strict=True))
        for i in members:
            q = qs[i]
            if q.across is None:
                out[i] = [(dict(label_of[s]), float(value_of[s])) for s in wanted[i] if s in value_of]
            elif wanted[i]:  # across series: the store's own aggregation, on this query's series
                df = finish(frame.filter(pl.col(SID).is_in(wanted[i])), q, set())
                df = (
                    df.sort("ts").group_by(list(q.by), maintain_order=True).last()
                    if q.by
                    else df.sort("ts").tail(1)
                )
                out[i] = [
                    ({k: r[k] for k in q.by if r[k] is not None}, float(r["value"]))
                    for r in df.iter_rows(named=True)
                    if r["value"] is not None and r["value"] == r["value"]
                ]
    return out
