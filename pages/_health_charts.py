"""The chart tabs of the Health page: hosts, MCP servers, the utilization heatmap. Not a page."""

from __future__ import annotations

import polars as pl
import streamlit as st

from core import charts
from core.capacity import charts as cap_charts
from core.capacity.bands import host_bands
from core.kernel.times import TimeRange
from core.views import Filters, health
from pages import _common as ui
from pages import _controls as controls_ui
from pages import _keys as K
from pages import _render as render


def host_charts(tr: TimeRange, filters: Filters) -> None:
    anomalies = st.toggle(
        "Anomaly bands",
        key=K.W_HEALTH_BANDS,
        help="Each host's robust seasonal baseline (fitted on the week before) as a grey band; "
        "red crosses mark anomalous points.",
    )
    grid = st.columns(2)
    for i, key in enumerate(("cpu", "memory", "disk", "load1")):
        panel = health.HOST_PANELS[key]
        df = ui.query(health.host_series, tr, filters, key)
        fig = charts.line(df, panel.title, panel.unit)
        if anomalies and not df.is_empty():
            fig = cap_charts.add_bands(fig, ui.query(host_bands, tr, filters, panel.metric))
        with grid[i % 2]:
            render.chart(fig, df, f"health-host-{key}", tr)
    net = ui.query(health.host_network, tr, filters)
    for i, way in enumerate(("receive", "transmit")):
        part = net.filter(pl.col("direction") == way).drop("direction")
        with grid[i % 2]:
            chart = charts.line(part, f"Network {way}", "bytes_per_s")
            render.chart(chart, part, f"health-host-network-{way}", tr)


def server_charts(tr: TimeRange, filters: Filters) -> None:
    grid = st.columns(2)
    with grid[0]:
        df = ui.query(health.servers_up_series, tr, filters)
        render.chart(charts.servers_up(df), df, "health-servers-up", tr)
    for i, (method, title) in enumerate(
        (("ping", "Ping latency, slowest servers"), ("tools/list", "tools/list latency, slowest servers"))
    ):
        df = ui.query(health.server_latency, tr, filters, method)
        with grid[(i + 1) % 2]:
            render.chart(
                charts.line(df, title, "seconds", color="server"), df, f"health-servers-{method}", tr
            )


def heatmap(tr: TimeRange, filters: Filters) -> None:
    heat = controls_ui.url_select(
        "Metric",
        ["cpu", "memory", "disk"],
        K.HEATMAP_PANEL,
        K.W_HEATMAP_PANEL,
        K.QP_HEATMAP,
        format_func=lambda k: health.HOST_PANELS[k].title,
        width=320,
    )
    df = ui.query(health.utilization_heatmap, tr, filters, heat)
    render.chart(
        charts.heatmap(df, f"{health.HOST_PANELS[heat].title} per host"),
        df,
        f"health-heatmap-{heat}",
        tr,
    )
