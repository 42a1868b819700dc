"""The Performance page's time-series charts, with optional anomaly bands. Not a page.

With the toggle on, the p95 latency and error-rate charts get each shown series' robust seasonal
baseline as a grey band and its anomalous points as red crosses (``core.capacity.perf_bands``,
read through the session's scoped reader like every other query). The error rate is then drawn
as lines, not stacked: a band belongs to one series' own values, not to a stack's top edge.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from core import charts
from core.capacity import charts as cap_charts
from core.capacity.perf_bands import performance_bands
from core.kernel.times import TimeRange
from core.kernel.units import Unit
from core.views import Filters
from core.views import performance as perf
from pages import _common as ui
from pages import _keys as K
from pages import _render as render

BANDED = ("errors_per_s", "p95")


def _with_bands(
    fig: go.Figure, tr: TimeRange, filters: Filters, column: Any, by: Any, server: str | None
) -> go.Figure:
    bands = ui.query(performance_bands, tr, filters, column, by, server)
    shown = {t.name for t in fig.data}
    return cap_charts.add_bands(fig, bands.filter(pl.col(by).is_in(list(shown))), by)


def panels(
    current: pl.DataFrame, tr: TimeRange, filters: Filters, by: str, of: str, server: str | None
) -> None:
    """Call rate, error rate and p95 per ``by`` group, and the call-weighted latency quantiles."""
    anomalies = st.toggle(
        "Anomaly bands",
        key=K.W_PERF_BANDS,
        help="The p95 latency and error rate of each shown series against its robust seasonal baseline "
        "(fitted on the week before) as a grey band; red crosses mark anomalous points.",
    )
    series = perf.series(current, tr, (by,))
    specs: tuple[tuple[str, str, Unit, dict[str, Any]], ...] = (
        ("calls_per_s", f"Call rate {of}", "per_s", {"stacked": True, "other": "sum"}),
        ("errors_per_s", f"Error rate {of}", "per_s", {"stacked": not anomalies, "other": "sum"}),
        ("p95", f"p95 latency {of}, slowest", "seconds", {"max_series": 8}),
    )
    grid = st.columns(2)
    for i, (column, title, unit, options) in enumerate(specs):
        data = series.select("ts", by, pl.col(column).alias("value")).drop_nulls("value")
        fig = charts.line(data, title, unit, color=by, **options)
        if anomalies and column in BANDED and not data.is_empty():
            fig = _with_bands(fig, tr, filters, column, by, server)
        with grid[i % 2]:
            render.chart(fig, data, f"perf-{column}-{by}", tr)
    with grid[1]:
        overall = perf.latency_long(perf.series(current, tr, ()))
        render.chart(
            charts.quantiles(overall, "Latency p50 / p95 / p99 (call-weighted)"), overall, "perf-latency", tr
        )
