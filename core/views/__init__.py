"""Read models of the dashboards: functions of a Reader, a TimeRange and Filters returning frames.

Shared here: the label filters of every view, selectors built from them (as Selector objects, never
strings, so label values are matched literally) and the counter arithmetic the views share.
A Reader is the Store, or the Store narrowed to a user's teams by :func:`scoped` (``scope.py``):
the pages always pass the scoped one, so every query of a view is team-scoped in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from core.kernel.selector import Matcher, Selector
from core.kernel.times import DAY, TimeRange
from core.views.scope import Reader as Reader
from core.views.scope import ScopedReader as ScopedReader
from core.views.scope import scoped as scoped

FILTER_LABELS = ("host", "team", "server")
TS = pl.Datetime("ms", "UTC")
LOOKBACK_MS = 5 * 60_000  # how far before the range a counter's previous sample is looked for


@dataclass(frozen=True)
class Filters:
    """Label filters of a view; an empty tuple means "all"."""

    hosts: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()

    @property
    def by_label(self) -> dict[str, tuple[str, ...]]:
        return {"host": self.hosts, "team": self.teams, "server": self.servers}

    @property
    def active(self) -> bool:
        return any(self.by_label.values())

    def matchers(self, labels: Iterable[str] = FILTER_LABELS) -> tuple[Matcher, ...]:
        out = []
        for label in labels:
            values = self.by_label.get(label, ())
            if len(values) == 1:
                out.append(Matcher(label, "=", values[0]))
            elif values:
                out.append(Matcher(label, "=~", "|".join(re.escape(v) for v in sorted(values))))
        return tuple(out)


ALL = Filters()


def selector(
    metric: str, filters: Filters | None = None, labels: Iterable[str] = FILTER_LABELS, **fixed: str
) -> Selector:
    """``metric{fixed..., filters on labels...}`` as a Selector (values matched literally)."""
    ms = [Matcher(k, "=", v) for k, v in fixed.items()]
    if filters is not None:
        ms.extend(filters.matchers(labels))
    return Selector(metric, tuple(ms))


def empty(schema: Mapping[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    """Exactly the columns of ``schema``, in its order and types."""
    return df.select(list(schema)).cast(pl.Schema(schema))


def ensure_columns(df: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """Add missing label columns as nulls, so grouping by them never fails."""
    missing = [pl.lit(None, pl.Utf8).alias(n) for n in names if n not in df.columns]
    return df.with_columns(missing) if missing else df


def label_columns(df: pl.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in ("ts", "value")]


def latest(store: Reader, sel: Selector, at_ms: int, lookback_ms: int) -> pl.DataFrame:
    """The last sample of each series in ``[at - lookback, at)``: columns ts, value, labels."""
    recent = at_ms > store.now_ms() - DAY
    return store.select(
        sel,
        at_ms - lookback_ms,
        at_ms,
        step_ms=lookback_ms,
        over_time="last",
        resolution="raw" if recent else "auto",
    )


def counter_increase(store: Reader, sel: Selector, tr: TimeRange, by: Sequence[str] = ()) -> pl.DataFrame:
    """Per bucket and group: the counter ``increase`` and its per-second ``rate``.

    Computed from the last value of each series per bucket (LOOKBACK_MS of look-back), dropping the
    first point of each series instead of counting its whole value, treating a drop as a counter
    reset and dividing by the real time between points, so sparse samples give true rates.
    Columns: ts, *by, increase, rate.
    """
    schema: dict[str, Any] = {
        "ts": TS,
        **{b: pl.Utf8 for b in by},
        "increase": pl.Float64,
        "rate": pl.Float64,
    }
    back = -(-LOOKBACK_MS // tr.step_ms) * tr.step_ms  # whole steps, so buckets stay aligned to the range
    df = store.select(sel, tr.start_ms - back, tr.end_ms, step_ms=tr.step_ms, over_time="last")
    if df.is_empty():
        return empty(schema)
    df = ensure_columns(df, by)
    keys = label_columns(df)
    df = df.sort([*keys, "ts"], nulls_last=True)
    v, ts = pl.col("value"), pl.col("ts")
    prev, prev_ts = v.shift(1).over(keys), ts.shift(1).over(keys)
    inc = pl.when(v >= prev).then(v - prev).otherwise(v)
    secs = (ts - prev_ts).dt.total_milliseconds() / 1000
    out = (
        df.with_columns(inc.alias("increase"), secs.alias("secs"))
        .filter(prev.is_not_null() & (ts >= pl.lit(tr.start_ms).cast(TS)))
        .with_columns((pl.col("increase") / pl.col("secs")).alias("rate"))
        .group_by("ts", *by)
        .agg(pl.col("increase").sum(), pl.col("rate").sum())
        .sort("ts", *by)
    )
    return conform(out, schema)


def pct_delta(current: float | None, previous: float | None) -> float | None:
    """Change from ``previous`` to ``current`` in percent; None when the base is zero or missing."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous) * 100


def label_values(store: Reader, metric: str, label: str) -> list[str]:
    """Sorted distinct values of ``label`` over the series of ``metric`` (for filter widgets)."""
    found = store.series(metric)
    values = {lb.get(label) for lb in found["labels"].to_list()} if not found.is_empty() else set()
    return sorted(v for v in values if v)


def hosts_in_scope(store: Reader, filters: Filters) -> tuple[str, ...] | None:
    """Hosts a filter selects: team/server filters reach hosts through the MCP servers they run.

    None means "no restriction"; an empty tuple means "nothing matches".
    """
    if not (filters.teams or filters.servers):
        return filters.hosts or None
    sel = selector("mcp_server_up", Filters(teams=filters.teams, servers=filters.servers))
    found = store.series(sel)
    hosts = {lb.get("host") for lb in found["labels"].to_list()} if not found.is_empty() else set()
    if filters.hosts:
        hosts &= set(filters.hosts)
    return tuple(sorted(h for h in hosts if h))
