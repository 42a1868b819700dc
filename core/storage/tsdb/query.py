"""The read API: a selector, a time range and a step, aggregated over time and across series.

The resolution (raw, 1 m or 1 h rollups) is picked from the range and step; results are polars
DataFrames with columns ``ts`` (UTC datetime), ``value`` and one column per label kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import polars as pl
from sqlalchemy.engine import Connection

from core.kernel.errors import QueryError
from core.kernel.selector import Selector, parse_selector
from core.kernel.settings import RetentionSettings
from core.storage.tsdb.read import select_series
from core.storage.tsdb.read_series import read_raw
from core.storage.tsdb.rollup import read_rollup_current

OverTime = Literal["avg", "min", "max", "sum", "count", "last", "rate", "increase", "quantile"]
Across = Literal["avg", "min", "max", "sum", "count", "quantile"]
Resolution = Literal["auto", "raw", "1m", "1h"]
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
WIDTH = {"raw": 0, "1m": MINUTE, "1h": HOUR}
LOOKBACK_MS = 5 * MINUTE
NICE_STEPS = [
    s * 1000 for s in (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
]


@dataclass(frozen=True)
class Query:
    selector: Selector
    start_ms: int
    end_ms: int
    step_ms: int | None = None
    over_time: OverTime = "avg"
    across: Across | None = None
    by: tuple[str, ...] = ()
    quantile: float = 0.95
    resolution: Resolution = "auto"
    also_over_time: tuple[OverTime, ...] = ()  # more aggregations of the same read, one column each
    series_ids: bool = False  # rows keyed by column series_id, no label columns (see finish)

    @classmethod
    def parse(cls, selector: str, start_ms: int, end_ms: int, **kw: object) -> Query:
        return cls(parse_selector(selector), start_ms, end_ms, **kw)  # type: ignore[arg-type]

    def validate(self) -> None:
        if self.end_ms <= self.start_ms:
            raise QueryError("query range is empty: end must be after start")
        if self.step_ms is not None and self.step_ms <= 0:
            raise QueryError(f"step must be positive, got {self.step_ms} ms")
        if self.over_time not in get_args(OverTime):
            raise QueryError(
                f"unknown aggregation over time {self.over_time!r}; use one of {get_args(OverTime)}"
            )
        if self.across is not None and self.across not in get_args(Across):
            raise QueryError(
                f"unknown aggregation across series {self.across!r}; use one of {get_args(Across)}"
            )
        if not 0.0 <= self.quantile <= 1.0:
            raise QueryError(f"quantile must be between 0 and 1, got {self.quantile}")
        self._validate_also()
        if self.series_ids and self.across is not None:
            raise QueryError("series_ids cannot be combined with an aggregation across series")
        if self.resolution not in get_args(Resolution):
            raise QueryError(f"unknown resolution {self.resolution!r}; use auto, raw, 1m or 1h")

    def _validate_also(self) -> None:
        """``also_over_time``: gauge aggregations next to a gauge one, without ``across``."""
        if not self.also_over_time:
            return
        names = (self.over_time, *self.also_over_time)
        if any(n not in get_args(OverTime) or n in COUNTER_AGGS for n in names):
            raise QueryError(
                f"also_over_time takes aggregations of values (not rate or increase), got {names}"
            )
        if len(set(names)) != len(names):
            raise QueryError(f"also_over_time repeats an aggregation: {names}")
        if self.across is not None:
            raise QueryError("also_over_time cannot be combined with an aggregation across series")


COUNTER_AGGS = ("rate", "increase")


def auto_step(start_ms: int, end_ms: int, points: int = 200) -> int:
    want = (end_ms - start_ms) / points
    return next((s for s in NICE_STEPS if s >= want), NICE_STEPS[-1])


def pick_resolution(q: Query, step: int, retention: RetentionSettings, now_ms: int) -> str:
    """Raw samples, minute or hour rollups: the coarsest whose width fits both the step and the
    range (a 1 h step over 30 minutes reads raw samples, or its one bucket would start before the
    range and hold nothing), unless the range starts before a finer resolution's retention."""
    if q.resolution != "auto":
        return q.resolution
    fits = min(step, q.end_ms - q.start_ms)
    if fits >= HOUR or q.start_ms < now_ms - retention.minute_days * DAY:
        return "1h"
    if fits >= MINUTE or q.start_ms < now_ms - retention.raw_days * DAY:
        return "1m"
    return "raw"


SID, BUCKET = "__sid", "__b"  # working columns; label names starting with __ are rejected at ingest


def _counter(df: pl.DataFrame, q: Query, res: str) -> pl.DataFrame:
    """increase (sum of deltas) or rate (deltas over the time they span) per series and bucket.

    A drop means the counter restarted from zero, so the delta is the new value; the first
    sample of a series has no delta. Dividing by the spanned time, not the step, keeps rates
    right when samples are further apart than the step.
    """
    v = pl.col("value") if res == "raw" else pl.col("last")
    prev: pl.Expr
    prev_ts: pl.Expr
    if _sorted_by_series(df):  # reads come sorted: the previous row of the same series, no window
        same = pl.col(SID) == pl.col(SID).shift(1)
        prev, prev_ts = pl.when(same).then(v.shift(1)), pl.when(same).then(pl.col("ts").shift(1))
    else:
        prev, prev_ts = v.shift(1).over(SID), pl.col("ts").shift(1).over(SID)
    delta = pl.when(prev.is_null()).then(None).when(v >= prev).then(v - prev).otherwise(v)
    inc = df.with_columns(delta.alias("d"), (pl.col("ts") - prev_ts).alias("dt")).filter(
        pl.col("d").is_not_null() & (pl.col(BUCKET) >= q.start_ms)
    )
    if q.over_time == "increase":
        return inc.group_by(SID, BUCKET).agg(pl.col("d").sum().alias("value"))
    return inc.group_by(SID, BUCKET).agg((pl.col("d").sum() / pl.col("dt").sum() * 1000).alias("value"))


def _over_time(df: pl.DataFrame, q: Query, res: str) -> pl.DataFrame:
    """Per series and step bucket: the value of the over-time aggregation."""
    keys = (SID, BUCKET)
    if q.over_time in ("rate", "increase"):
        return _counter(df, q, res)
    if res == "raw":
        exprs = _of_values(pl.col("value"), q.quantile)
    else:
        mean = pl.col("sum") / pl.col("count")
        exprs = {
            "avg": pl.col("sum").sum() / pl.col("count").sum(),
            "min": pl.col("min").min(),
            "max": pl.col("max").max(),
            "sum": pl.col("sum").sum(),
            "count": pl.col("count").sum().cast(pl.Float64),
            "last": pl.col("last").last(),
            "quantile": mean.quantile(q.quantile, "linear"),
        }
    rows = df.filter(pl.col(BUCKET) >= q.start_ms)
    names = (q.over_time, *q.also_over_time)
    if res != "raw" and all(n in ROW_WISE for n in names) and _one_row_per_bucket(rows):
        return _row_wise(rows, q)
    out = rows.group_by(keys, maintain_order=True).agg(exprs[q.over_time].alias("value"))
    # Each further aggregation in a grouping of its own (the same groups, in the same order of
    # first appearance): polars sums and means alone and among others may differ in the last bit.
    more = [
        rows.group_by(keys, maintain_order=True).agg(exprs[name].alias(name)).get_column(name)
        for name in q.also_over_time
    ]
    return out.with_columns(more) if more else out


ROW_WISE = {  # each aggregation of rollup rows when every bucket holds one row (no grouping)
    "avg": pl.col("sum") / pl.col("count"),
    "min": pl.col("min"),
    "max": pl.col("max"),
    "sum": pl.col("sum"),
    "count": pl.col("count").cast(pl.Float64),
    "last": pl.col("last"),
}


def _sorted_by_series(rows: pl.DataFrame) -> bool:
    """Whether rows are sorted by series, then time, without a (series, ts) twice: how the reads
    return them; the fast paths check it rather than trust it."""
    sid, ts = rows[SID].to_numpy(), rows["ts"].to_numpy()
    d_sid, d_ts = np.diff(sid), np.diff(ts)
    return bool(np.all((d_sid > 0) | ((d_sid == 0) & (d_ts > 0))))


def _one_row_per_bucket(rows: pl.DataFrame) -> bool:
    """Whether each row is its own (series, bucket) group, in order: the step is the rollup width
    and the start falls on it (a 1 h read of hour rollups), and the rows are sorted."""
    if rows.is_empty() or not bool((rows[BUCKET] == rows["ts"]).all()):
        return False
    return _sorted_by_series(rows)


def _row_wise(rows: pl.DataFrame, q: Query) -> pl.DataFrame:
    """:func:`_over_time` of rollup rows that are one per bucket, without a group-by: the sum, min,
    max or last of one row is that row's value (bit for bit, -0.0 and NaN included), so this is
    the grouped result in the grouped order (first appearance)."""
    more = [ROW_WISE[n].alias(n) for n in q.also_over_time]
    return rows.select(SID, BUCKET, ROW_WISE[q.over_time].alias("value"), *more)


def _of_values(v: pl.Expr, quantile: float) -> dict[str, pl.Expr]:
    """Aggregations of plain values (raw samples over time, or per-series values across series)."""
    return {
        "avg": v.mean(),
        "min": v.min(),
        "max": v.max(),
        "sum": v.sum(),
        "count": pl.len().cast(pl.Float64),
        "last": v.last(),
        "quantile": v.quantile(quantile, "linear"),
    }


def _across(df: pl.DataFrame, q: Query) -> pl.DataFrame:
    exprs = _of_values(pl.col("value"), q.quantile)
    assert q.across is not None
    return df.group_by(*q.by, BUCKET).agg(exprs[q.across].alias("value"))


def run_query(conn: Connection, q: Query, retention: RetentionSettings, now_ms: int) -> pl.DataFrame:
    q.validate()
    step = q.step_ms or auto_step(q.start_ms, q.end_ms)
    res = pick_resolution(q, step, retention, now_ms)
    found = select_series(conn, q.selector)
    if found.is_empty():
        return empty_result(q)
    per = per_series(conn, q, found["id"].to_list(), found["labels"].to_list(), step, res)
    return finish(per, q)


def empty_result(q: Query) -> pl.DataFrame:
    """No rows, the columns a result of ``q`` has: ts, value, ``also_over_time``..., then the ``by``
    labels (or series_id)."""
    schema: dict[str, pl.DataType] = {"ts": pl.Datetime("ms", "UTC"), "value": pl.Float64()}
    schema |= {str(name): pl.Float64() for name in q.also_over_time}
    schema |= {"series_id": pl.Int64()} if q.series_ids else {k: pl.Utf8() for k in q.by}
    return pl.DataFrame(schema=schema)


ROLLUP_COLUMNS: dict[str, tuple[str, ...]] = {  # the rollup columns each aggregation reads
    "avg": ("sum", "count"),
    "min": ("min",),
    "max": ("max",),
    "sum": ("sum",),
    "count": ("count",),
    "last": ("last",),
    "quantile": ("sum", "count"),
    "rate": ("last",),
    "increase": ("last",),
}


def per_series(
    conn: Connection, q: Query, ids: list[int], labels: list[dict[str, str]], step: int, res: str
) -> pl.DataFrame:
    """Over-time aggregation per series and bucket, joined with the series' labels (with
    ``q.series_ids``: without them, keyed by series only)."""
    lookback = max(step, WIDTH[res], LOOKBACK_MS)  # the sample before the range, for the first delta
    lo = q.start_ms - (lookback if q.over_time in ("rate", "increase") else 0)
    if res == "raw":
        data = read_raw(conn, ids, lo, q.end_ms)
    else:
        columns = {c for name in (q.over_time, *q.also_over_time) for c in ROLLUP_COLUMNS[name]}
        data = read_rollup_current(conn, WIDTH[res], ids, lo, q.end_ms, sorted(columns))
    data = data.rename({"series_id": SID}).with_columns(
        (q.start_ms + (pl.col("ts") - q.start_ms) // step * step).alias(BUCKET)
    )
    out = _over_time(data, q, res)
    if q.series_ids:
        return out
    frame = pl.DataFrame(
        [{SID: i, **lb} for i, lb in zip(ids, labels, strict=True)], infer_schema_length=None
    )
    if clash := set(q.also_over_time) & set(frame.columns):
        raise QueryError(f"also_over_time {sorted(clash)} would shadow labels of the same name")
    return out.join(frame, on=SID, how="left")


def finish(per_series: pl.DataFrame, q: Query, labels: set[str] | None = None) -> pl.DataFrame:
    """Across-series aggregation (if any), then columns ts, value, ``also_over_time``..., labels...,
    sorted by time and labels.

    ``labels``: the label names of this query's own series, when ``per_series`` was shared with
    other queries (their label columns are dropped); None keeps every label column.
    With ``q.series_ids``: columns ts, value, ``also_over_time``..., series_id, sorted by series
    then time; the caller attaches labels (``Store.series``) to the series it keeps.
    """
    if q.series_ids:
        return _by_series_id(per_series, q)
    for name in q.by:
        if name not in per_series.columns:
            per_series = per_series.with_columns(pl.lit(None, pl.Utf8).alias(name))
    out = _across(per_series, q) if q.across else per_series.drop(SID)
    if labels is not None and not q.across:
        keep = (BUCKET, "value", *q.also_over_time)
        out = out.select([c for c in out.columns if c in keep or c in labels])
    out = out.with_columns(pl.col(BUCKET).cast(pl.Datetime("ms", "UTC")).alias("ts")).drop(BUCKET)
    values = ["value", *q.also_over_time]
    ordered = ["ts", *values, *[c for c in out.columns if c != "ts" and c not in values]]
    return out.select(ordered).sort([c for c in ordered if c not in values])


def _by_series_id(per_series: pl.DataFrame, q: Query) -> pl.DataFrame:
    """The rows of :func:`finish` with ``series_ids``: no labels to join or sort by."""
    out = per_series.select(
        pl.col(BUCKET).cast(pl.Datetime("ms", "UTC")).alias("ts"),
        "value",
        *q.also_over_time,
        pl.col(SID).alias("series_id"),
    )
    sid, ts = out["series_id"].to_numpy(), per_series[BUCKET].to_numpy()
    d_sid, d_ts = np.diff(sid), np.diff(ts)
    in_order = bool(np.all((d_sid > 0) | ((d_sid == 0) & (d_ts > 0))))  # as the row-wise path leaves them
    return out if in_order else out.sort("series_id", "ts")
