"""The Capacity page's headline metrics and its time-to-exhaustion table (not a page)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import streamlit as st

from core.capacity.forecast import Forecast
from core.capacity.planner import Projection
from core.kernel.times import fmt_utc

DAY_MS = 86_400_000
RESOURCE_LABELS = {"cpu": "CPU", "memory": "Memory"}


def model_note(name: str, fc: Forecast) -> str:
    """``CPU mstl (MASE 0.62)``, flagged when the model is no better than the seasonal naive."""
    flag = ", no better than the seasonal naive" if fc.no_better_than_naive else ""
    return f"{name} {fc.model} (MASE {fc.mase or 0:.2f}{flag})"


def _date(ms: int | None) -> str:
    return "—" if ms is None else fmt_utc(ms)[:10]


def _short(ms: int) -> str:
    """A tile's date: ``Dec 20`` (the tiles are narrow; the help gives the whole date)."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%b %d")


def _crossing(p: Projection, resource: str, horizon: int) -> tuple[str, str]:
    ex = p.exhaustion.filter(
        (pl.col("resource") == resource) & (pl.col("plan") == "scenario") & (pl.col("threshold") < 1.0)
    )
    if ex.is_empty() or (ex["at"][0] is None and not ex["already"][0]):
        late = ex["earliest"][0] if ex.height else None
        note = f"; the interval's upper bound crosses on {_date(late)}" if late is not None else ""
        return (
            f"> {horizon} d",
            f"Not within the {horizon}-day horizon: the point forecast stays under the target{note}.",
        )
    if ex["already"][0]:
        return "now", "Already over the target utilization."
    at = ex["at"][0]
    return _short(
        at
    ), f"On {_date(at)}; earliest {_date(ex['earliest'][0])}, latest {_date(ex['latest'][0])}."


def metrics(p: Projection, horizon: int) -> None:
    s = p.scenario
    needed, upper = p.hosts_needed_total
    cols = st.columns(5)
    cols[0].metric(
        "Hosts",
        p.planned.hosts,
        delta=p.planned.hosts - p.now.hosts or None,
        help=f"Now {p.now.hosts} hosts: {p.now.cores:.0f} cores, {p.now.memory_gib:,.0f} GiB; "
        f"planned {p.planned.cores:.0f} cores, {p.planned.memory_gib:,.0f} GiB.",
        border=True,
    )
    cols[1].metric(
        f"Needed at {s.target_utilization:.0%}",
        needed,
        delta=needed - p.planned.hosts or None,
        delta_color="inverse",
        help=f"Hosts needed at the target utilization: hosts of {p.host_cores:.0f} cores and {p.host_memory_gib:.0f} GiB that keep the peak forecast "
        f"under the target (CPU {p.hosts_needed['cpu'][0]}, memory {p.hosts_needed['memory'][0]}); "
        f"{upper} for the interval's upper bound.",
        border=True,
    )
    for col, r in zip(cols[2:4], ("cpu", "memory"), strict=True):
        value, note = _crossing(p, r, horizon)
        col.metric(f"{RESOURCE_LABELS[r]} over target", value, help=note, border=True)
    now, planned = p.monthly_cost("now"), p.monthly_cost("planned")
    cols[4].metric(
        f"Cost / month ({s.currency})",
        f"{planned:,.0f}",
        delta=f"{planned - now:+,.0f}" if round(planned - now) else None,
        delta_color="inverse",
        help=f"Cores and GiB of the planned hosts around the clock; at hosts needed: "
        f"{p.monthly_cost('needed'):,.0f}.",
        border=True,
    )


def exhaustion_table(p: Projection, now_ms: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(shown, data): when utilization crosses the target and 100 %, per resource and plan."""
    ex = p.exhaustion

    def days(column: str) -> pl.Expr:
        return ((pl.col(column) - now_ms) / DAY_MS).round(1)

    def when(column: str) -> pl.Expr:
        return pl.col(column).map_elements(_date, return_dtype=pl.Utf8, skip_nulls=False)

    shown = ex.select(
        pl.col("resource").replace_strict(RESOURCE_LABELS).alias("Resource"),
        pl.col("plan").str.to_titlecase().alias("Plan"),
        (pl.col("threshold") * 100).round(0).cast(pl.Int64).cast(pl.Utf8).add(" %").alias("Utilization"),
        pl.when(pl.col("already")).then(pl.lit("now")).otherwise(when("at")).alias("Date"),
        pl.when(pl.col("already"))
        .then(pl.lit("0"))
        .otherwise(days("at").cast(pl.Utf8))
        .fill_null("—")
        .alias("In days"),
        when("earliest").alias("Earliest"),
        when("latest").alias("Latest"),
    )
    data = ex.with_columns(
        *(pl.col(c).cast(pl.Datetime("ms", "UTC")) for c in ("at", "earliest", "latest")),
    )
    return shown, data
