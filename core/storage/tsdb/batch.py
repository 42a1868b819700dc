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

import polars as pl
from sqlalchemy.engine import Connection

from core.kernel.selector import Selector
from core.kernel.settings import RetentionSettings
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

Element = tuple[dict[str, str], float]
Plan = tuple[list[int], dict[int, list[int]], pl.DataFrame, dict[int, dict[str, str]]]


def _plans(
    conn: Connection, qs: Sequence[Query], retention: RetentionSettings, now_ms: int
) -> Iterator[Plan]:
    """(member query indexes, series ids per member, shared per-series frame, labels by id)."""
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
        wanted = {i: [sid for sid, lb in label_of.items() if qs[i].selector.matches(lb)] for i in members}
        union = sorted({sid for ids in wanted.values() for sid in ids})
        if union:
            frame = per_series(conn, qs[members[0]], union, [label_of[s] for s in union], step, res)
            yield members, wanted, frame, label_of


def run_queries(
    conn: Connection, qs: Sequence[Query], retention: RetentionSettings, now_ms: int
) -> list[pl.DataFrame]:
    """Each query's result, as ``run_query`` would give it."""
    out = [empty_result(q) for q in qs]
    for members, wanted, frame, label_of in _plans(conn, qs, retention, now_ms):
        for i in members:
            if wanted[i]:
                names = {k for sid in wanted[i] for k in label_of[sid]}
                out[i] = finish(frame.filter(pl.col(SID).is_in(wanted[i])), qs[i], names)
    return out


def run_instant(
    conn: Connection, qs: Sequence[Query], retention: RetentionSettings, now_ms: int
) -> list[list[Element]]:
    """Each query's latest bucket per label set (per series, or per ``by`` group with ``across``)."""
    out: list[list[Element]] = [[] for _ in qs]
    for members, wanted, frame, label_of in _plans(conn, qs, retention, now_ms):
        last = (
            frame.sort(BUCKET).group_by(SID).last().drop_nulls("value").filter(pl.col("value").is_not_nan())
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
