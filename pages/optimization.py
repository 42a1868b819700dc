"""Optimization: right-size containers, find idle servers, drain hosts, tie regressions to deploys.

Usage is read once per range (cached); the what-if controls recompute the recommendations from it,
so moving a slider costs no store read.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from core.optimization.rightsizing import recommend, to_frame
from core.optimization.usage import read_usage
from pages import _common as ui
from pages import _controls as controls_ui
from pages import _optimization_database as database_tab
from pages import _optimization_findings as findings_tab
from pages import _optimization_lifecycle as lifecycle_tab
from pages import _optimization_profile as profile_tab
from pages import _optimization_whatif as whatif

ui.page_header("Optimization", "optimization")
controls = controls_ui.sidebar_controls()
ui.require_data(["container_cpu_usage_cores"], "container usage")
TABS = ("Right-sizing", "Idle", "Consolidation", "Regressions", "Lifecycle")
ALIGN_MS = 300_000


def totals(recs: pl.DataFrame, currency: str) -> None:
    """The fleet total at the top: containers with a recommendation and what they would save."""
    ok = recs.filter(pl.col("status") == "ok")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "Containers",
        f"{ok.height} of {recs.height}",
        help="with enough history for a recommendation",
        border=True,
    )
    c2.metric("CPU cores saved", f"{ok['savings_cores'].sum():.1f}", border=True)
    c3.metric("Memory saved", f"{ok['savings_gib'].sum():.1f} GiB", border=True)
    c4.metric(f"Per month ({currency})", f"{ok['savings_monthly'].sum():,.0f}", border=True)


def body() -> None:
    tr = controls.resolve()
    w = whatif.sidebar()
    end_ms = tr.end_ms - tr.end_ms % ALIGN_MS  # the cache key: usage is read again every 5 minutes
    usage = ui.query(read_usage, end_ms, w.usage, controls.filters)
    recs = to_frame(recommend(usage, w.strategy, w.prices, w.usage.step_s))
    if recs.is_empty():
        st.info("No container has usage in this window yet.", icon=":material/info:")
        return
    totals(recs, w.prices.currency)
    c = ui.console()  # SQL text of the databases, and ptrace of any process: admins only
    tabs = (*TABS, *("Database",) * c.database.allowed, *("Profile",) * c.profiling.allowed)
    tab = st.segmented_control("View", tabs, default=tabs[0], key="opt.tab") or tabs[0]
    if tab == "Database":
        database_tab.render_tab(tr)
    elif tab == "Profile":
        profile_tab.render_tab(tr)
    elif tab == "Lifecycle":
        lifecycle_tab.render_tab(recs, tr)
    elif tab == "Right-sizing":
        findings_tab.rightsizing(recs, tr)
    else:
        findings_tab.findings(tab, w, end_ms, controls.filters, tr)


controls_ui.run(controls, body)
