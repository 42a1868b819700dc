"""Self-monitoring: what Pulse itself costs, read from the figures its processes record
(``core.runtime.selfstats``): CPU share of the machine against the overhead budget (not judged
in a daemon's first minutes), memory, database size and growth (once there is an hour of size
history), ingest lag, job durations, rejected samples, spool and outbox.

The CPU share is CPU accounting of Pulse's own processes: the increase of each process's user +
system CPU seconds over a bucket, divided by the bucket's seconds and its machine's CPU count. The
total adds the processes up (the daemon and the UI; on one machine that is the share of it).

With several daemons on one database each daemon's figures carry its ``node``
(``cluster.node_name``): every per-daemon frame is split by node ("daemon on node-a"), so two
daemons are never added up or mixed in one line. Figures of the one database they share (its size,
the outbox) are the largest node's reading. Figures recorded before daemons had a node label show
without one.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl

from core import charts
from core.kernel.selector import parse_selector
from core.kernel.times import TimeRange
from core.views import TS, counter_increase, empty
from core.views.scope import Reader

OVERHEAD_BUDGET = 0.02  # Pulse's CPU, as a share of the machine, should stay under 2 %
CPU, MEMORY, CPUS, STARTED = (
    "pulse_process_cpu_seconds_total",
    "pulse_process_resident_memory_bytes",
    "pulse_process_machine_cpus",
    "pulse_process_start_time_seconds",
)
SELF_METRICS = (CPU, "pulse_db_size_bytes")  # any of these: Pulse has recorded itself
DAY_MS = 86_400_000
MINUTE_MS = 60_000
# The budget is not judged on a daemon's first minutes: a start catches up (schema check, rollups
# and backfill of the gap, every source's first collection, imports and compilation on first use),
# which says nothing about what the daemon costs from then on.
WARMUP_S = 300
# Growth per day is extrapolated only from at least an hour of size history: over minutes, one
# checkpoint of the WAL, one rollup or one batch of new series reads as gigabytes per day.
MIN_GROWTH_SPAN_S = 3600
GROWTH_WINDOW_MS = DAY_MS  # growth over the last day (the range when longer): a day's cycles in it


def _last(
    store: Reader, metric: str, tr: TimeRange, by: tuple[str, ...] = (), across: str = "sum"
) -> pl.DataFrame:
    """Per bucket (and ``by`` group) the last value of ``metric``; columns ts, *by, value."""
    kw = {"across": across, "by": by} if by else {"across": across}
    return store.select(
        parse_selector(metric), tr.start_ms, tr.end_ms, step_ms=tr.step_ms, over_time="last", **kw
    )


def by_node(df: pl.DataFrame, col: str) -> pl.DataFrame:
    """``col`` with the daemon's node appended ("daemon on node-a") and the ``node`` column dropped;
    rows without a node (the UI, figures recorded before the label) keep ``col`` as it was."""
    if "node" not in df.columns:
        return df
    named = pl.col("node").is_not_null() & (pl.col("node") != "")
    return df.with_columns(
        pl.when(named)
        .then(pl.format("{} on {}", pl.col(col), pl.col("node")))
        .otherwise(pl.col(col))
        .alias(col)
    ).drop("node")


def _nodes(df: pl.DataFrame) -> pl.DataFrame:
    """The ``node`` column with "" where a series has none (so it can colour a chart)."""
    if "node" not in df.columns:
        return df.with_columns(pl.lit("").alias("node"))
    return df.with_columns(pl.col("node").fill_null(""))


def _complete(store: Reader, tr: TimeRange, df: pl.DataFrame) -> pl.DataFrame:
    """Without the bucket still filling (a rate or a growth over it would read low)."""
    return df.filter(pl.col("ts") <= pl.lit(store.now_ms() - tr.step_ms).cast(TS))


def cpu_share(store: Reader, tr: TimeRange) -> pl.DataFrame:
    """ts, process (daemon, ui, total), value: CPU seconds per second over the machine's CPUs."""
    schema = {"ts": TS, "process": pl.Utf8, "value": pl.Float64}
    used = counter_increase(store, parse_selector(CPU), tr, ("process", "instance", "node"))
    used = _complete(store, tr, used)
    if used.is_empty():
        return empty(schema)
    cpus = _nodes(_last(store, CPUS, tr, ("process", "instance", "node"))).rename({"value": "cpus"})
    per = (
        _nodes(used)
        .join(cpus, on=["ts", "process", "instance", "node"], how="left")
        .with_columns((pl.col("rate") / pl.col("cpus").fill_null(1.0).clip(1.0)).alias("value"))
        .group_by("ts", "process", "node")
        .agg(pl.col("value").sum())
    )
    per = by_node(per, "process")
    total = per.group_by("ts").agg(pl.col("value").sum()).with_columns(pl.lit("total").alias("process"))
    return pl.concat([per, total.select("ts", "process", "value")]).sort("process", "ts")


def memory(store: Reader, tr: TimeRange) -> pl.DataFrame:
    """ts, process, value: resident bytes of each kind of Pulse process (summed over instances),
    each daemon's node apart ("daemon on node-a")."""
    df = by_node(_nodes(_last(store, MEMORY, tr, ("process", "node"))), "process")
    return (
        df.select("ts", "process", "value")
        if not df.is_empty()
        else empty({"ts": TS, "process": pl.Utf8, "value": pl.Float64})
    )


def series(
    store: Reader, tr: TimeRange, metric: str, by: tuple[str, ...] = (), shared: bool = False
) -> pl.DataFrame:
    """ts, *by, node, value: the last value per bucket of one of Pulse's own gauges, per daemon
    node ("" for figures without one); with ``by``, the node is appended to the first of them
    ("flush on node-a") instead. A ``shared`` figure (the database's size, its outbox) is the
    same database seen from every node: the largest reading, no node column."""
    if shared:
        df = _last(store, metric, tr, by, across="max")
        return df if not df.is_empty() else empty({"ts": TS, **{b: pl.Utf8 for b in by}, "value": pl.Float64})
    df = _nodes(_last(store, metric, tr, (*by, "node")))
    if df.is_empty():
        return empty({"ts": TS, **{b: pl.Utf8 for b in by}, "node": pl.Utf8, "value": pl.Float64})
    return by_node(df, by[0]) if by else df


def rejected(store: Reader, tr: TimeRange) -> pl.DataFrame:
    """ts, reason, value: samples the store rejected per bucket, by reason."""
    df = counter_increase(store, parse_selector("pulse_samples_rejected_total"), tr, ("reason",))
    return df.select("ts", "reason", pl.col("increase").alias("value"))


@dataclass(frozen=True)
class Growth:
    """The database's growth per day, None while the size has less than ``needed_s`` of history
    (``span_s``: the history there is, between the first and the last size sample)."""

    per_day: float | None
    span_s: float
    needed_s: float = MIN_GROWTH_SPAN_S


def growth_per_day(size: pl.DataFrame, min_span_s: float = MIN_GROWTH_SPAN_S) -> Growth:
    """Bytes per day the database grew (a straight line through the first and the last size),
    once the two are at least ``min_span_s`` apart."""
    if size.is_empty():
        return Growth(None, 0.0, min_span_s)
    first, last = size.sort("ts").row(0, named=True), size.sort("ts").row(-1, named=True)
    span_s = (last["ts"] - first["ts"]).total_seconds()
    if span_s < min_span_s or span_s <= 0:
        return Growth(None, span_s, min_span_s)
    return Growth((last["value"] - first["value"]) / span_s * DAY_MS / 1000, span_s, min_span_s)


def growth(store: Reader, tr: TimeRange) -> Growth:
    """:func:`growth_per_day` over the day up to the range's end (the range when longer), in
    minute buckets (the range's when coarser)."""
    start = min(tr.start_ms, tr.end_ms - GROWTH_WINDOW_MS)
    window = TimeRange("custom", start, tr.end_ms, max(tr.step_ms, MINUTE_MS), tr.as_of_ms)
    size = series(store, window, "pulse_db_size_bytes", shared=True)
    return growth_per_day(_complete(store, window, size).drop_nulls("value"))


def warming_up(store: Reader, tr: TimeRange, cpu: pl.DataFrame) -> float | None:
    """How long the newest Pulse process (a daemon or a dashboard) had run at the start of the
    latest CPU bucket when that is within its first :data:`WARMUP_S` (the budget is not judged
    then: a start catches up on work, a dashboard loads its libraries); None otherwise, and when
    no process recorded its start time."""
    total = cpu.filter(pl.col("process") == "total").drop_nulls("value")
    started = _last(store, STARTED, tr, across="max").drop_nulls("value")
    if total.is_empty() or started.is_empty():
        return None
    latest_s = float(total.select(pl.col("ts").dt.epoch("ms").max()).item()) / 1000
    ran_s = latest_s - float(started.select(pl.col("value").max()).item())
    return max(ran_s, 0.0) if ran_s < WARMUP_S else None


@dataclass(frozen=True)
class Summary:
    """The latest figures, for the page's metric tiles (None: not recorded in the range)."""

    cpu_share: float | None
    within_budget: bool | None
    daemon_memory: float | None
    ui_memory: float | None
    db_bytes: float | None
    growth: Growth
    ingest_lag_s: float | None
    spool_bytes: float | None
    outbox: float | None
    rejected: float
    warming_up_s: float | None = None  # the newest daemon's age while the budget is not judged

    @property
    def growth_per_day(self) -> float | None:
        return self.growth.per_day


def _latest(df: pl.DataFrame, **where: str) -> float | None:
    for k, v in where.items():
        df = df.filter(pl.col(k) == v) if k in df.columns else df.clear()
    df = df.drop_nulls("value")
    return None if df.is_empty() else float(df.sort("ts")["value"][-1])


def summary(store: Reader, tr: TimeRange) -> Summary:
    """The tiles: totals over the daemons (memory and spool added up, the worst ingest lag)."""
    cpu, size = cpu_share(store, tr), series(store, tr, "pulse_db_size_bytes", shared=True)
    mem = _last(store, MEMORY, tr, ("process",))
    share = _latest(cpu, process="total")
    rej = rejected(store, tr)
    warm = warming_up(store, tr, cpu)
    return Summary(
        cpu_share=share,
        within_budget=None if share is None or warm is not None else share <= OVERHEAD_BUDGET,
        daemon_memory=_latest(mem, process="daemon"),
        ui_memory=_latest(mem, process="ui"),
        db_bytes=_latest(size),
        growth=growth(store, tr),
        ingest_lag_s=_latest(_last(store, "pulse_ingest_lag_seconds", tr, across="max")),
        spool_bytes=_latest(_last(store, "pulse_spool_bytes", tr)),
        outbox=_latest(series(store, tr, "pulse_notification_outbox", shared=True)),
        rejected=float(rej["value"].sum()) if not rej.is_empty() else 0.0,
        warming_up_s=warm,
    )


def cpu_figure(df: pl.DataFrame, budget: float = OVERHEAD_BUDGET) -> go.Figure:
    """Pulse's CPU share per process and in total, with the overhead budget as a dashed line."""
    fig = charts.line(df, "Pulse CPU, share of the machine", "ratio", color="process")
    fig.add_hline(
        y=budget,
        line={"color": "#E45756", "dash": "dash", "width": 2},
        annotation_text=f"budget {budget:.0%}",
        annotation_position="top left",
        name="budget",
    )
    peak = df["value"].drop_nulls().to_list()
    top = max([budget * 1.5, *(v * 1.1 for v in peak)])
    fig.update_yaxes(range=[0, top])
    return fig
