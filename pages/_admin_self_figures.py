"""Self-monitoring's figures: Pulse's own CPU against its budget, memory, database, ingest lag,
spool, outbox and rejects, as tiles for the range and as charts over it."""

from __future__ import annotations

import polars as pl
import streamlit as st

from core import charts
from core.kernel.times import TimeRange
from core.kernel.units import Unit, fmt_count, fmt_percent, fmt_seconds
from core.kernel.units import fmt_bytes as size
from core.views import self_monitoring as sm
from pages import _common as ui
from pages import _render as render


def _took(seconds: float) -> str:
    """``45 s`` under a minute, else whole minutes: ``12 min``."""
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds // 60:.0f} min"


def growth_text(s: sm.Summary) -> tuple[str | None, str | None]:
    """The database's growth per day for the tile, or "not enough history yet" and a line saying
    how much there is (the tile's delta is too narrow for the whole)."""
    g = s.growth
    if g.per_day is not None:
        return f"{size(g.per_day)} per day", None
    if s.db_bytes is None:
        return None, None
    return "not enough history yet", (
        f"Database growth per day: not enough history yet ({_took(g.span_s)} of {_took(g.needed_s)} "
        "needed); it is extrapolated only from at least that much history of the database's size."
    )


def figures(tr: TimeRange) -> None:
    """Two rows of tiles: what Pulse costs now, and what piled up (lag, spool, outbox, rejects)."""
    s = ui.query(sm.summary, tr)
    verdict = None if s.within_budget is None else "within budget" if s.within_budget else "over budget"
    if s.warming_up_s is not None:
        verdict = f"warming up ({_took(s.warming_up_s)} of {_took(sm.WARMUP_S)})"
    row = st.columns(4)
    row[0].metric(
        "Pulse CPU",
        fmt_percent(s.cpu_share, 2),
        delta=verdict,
        delta_color="off" if s.within_budget is None else "normal" if s.within_budget else "inverse",
        delta_arrow="off",
        border=True,
        help=f"Daemon and dashboard processes, share of the machine; budget {sm.OVERHEAD_BUDGET:.0%}, "
        f"not judged in a Pulse process's first {sm.WARMUP_S // 60} minutes (a start catches up on work)",
    )
    row[1].metric("Daemon memory", size(s.daemon_memory), border=True, help="Resident set of `pulse collect`")
    row[2].metric("Dashboard memory", size(s.ui_memory), border=True, help="Resident set of the UI processes")
    growth, needed = growth_text(s)
    row[3].metric(
        "Database size",
        size(s.db_bytes),
        delta=growth,
        delta_color="off",
        delta_arrow="off" if s.growth.per_day is None else "auto",
        border=True,
        help=f"Growth per day over the last 24 h (the range when longer), from at least "
        f"{sm.MIN_GROWTH_SPAN_S // 60} min of size history",
    )
    row = st.columns(4)
    row[0].metric(
        "Ingest lag",
        fmt_seconds(s.ingest_lag_s),
        border=True,
        help="Age of the newest sample of the last batch when stored",
    )
    row[1].metric(
        "Spool", size(s.spool_bytes), border=True, help="Samples held on disk while the database is away"
    )
    row[2].metric("Notification outbox", fmt_count(s.outbox), border=True)
    row[3].metric("Rejected samples", fmt_count(s.rejected), border=True, help=f"In the range ({tr.label})")
    if needed:
        st.caption(needed)


def history(tr: TimeRange) -> None:
    """The CPU share against the budget, then six panels of Pulse's own series in two columns."""
    cpu = ui.query(sm.cpu_share, tr)
    render.chart(sm.cpu_figure(cpu), cpu, "self-cpu", tr)
    grid = st.columns(2)
    panels: list[tuple[str, Unit, pl.DataFrame, str | None]] = [
        ("Resident memory", "bytes", ui.query(sm.memory, tr), "process"),
        ("Database size", "bytes", ui.query(sm.series, tr, "pulse_db_size_bytes", (), True), None),
        ("Ingest lag", "seconds", ui.query(sm.series, tr, "pulse_ingest_lag_seconds"), "node"),
        ("Job durations", "seconds", ui.query(sm.series, tr, "pulse_job_duration_seconds", ("job",)), "job"),
        ("Rejected samples", "count", ui.query(sm.rejected, tr), "reason"),
        ("Samples in the spool", "count", ui.query(sm.series, tr, "pulse_spool_samples"), "node"),
    ]
    for i, (title, unit, df, color) in enumerate(panels):
        with grid[i % 2]:
            render.chart(charts.line(df, title, unit, color=color), df, f"self-{i}", tr)
