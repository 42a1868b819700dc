"""Usage: per team active users, debug sessions, MCP servers, tool calls, CPU and memory hours and
showback cost; top users and servers; the trend over the range.

Scope comes from the seam (``console().usage``): a team lead's teams, a developer's own series, an
admin everything. Filters from the sidebar or the URL only narrow it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.kernel.settings.prices import PriceSettings
from core.usage import UsageReport, buckets_of
from core.usage.figures import trend_choices, trend_figure
from core.views import Filters
from pages import _common as ui
from pages import _controls as controls_ui
from pages import _render as render
from pages._usage_sidebar import showback, snapshot_button

ui.page_header("Usage", "usage")
controls = controls_ui.sidebar_controls()
ui.require_data(["container_cpu_usage_cores"], "container usage")
NUM = st.column_config.NumberColumn
COLUMNS: dict[str, Any] = {
    "active_users_peak": NUM("Active users (peak)", format="%d"),
    "debug_sessions_peak": NUM("Debug sessions (peak)", format="%d"),
    "mcp_servers": NUM("MCP servers", format="%d"),
    "tool_calls": NUM("Tool calls", format="%,.0f"),
    "cpu_core_hours": NUM("CPU core-h", format="%.1f"),
    "memory_gib_hours": NUM("Memory GiB-h", format="%.1f"),
    "cost": NUM("Cost", format="%.2f"),
    "growth_pct": NUM("Growth %", format="%+.1f"),
}
TOP = 10


@st.cache_data(ttl=60, max_entries=64, show_spinner=False)
def _report(
    key: tuple[Any, ...], start: int, end: int, f: Filters, prices: str, basis: str, _u: Any
) -> UsageReport:
    return _u.report(start, end, f, PriceSettings.model_validate_json(prices), basis)


def kpis(r: UsageReport) -> None:
    t = r.teams
    cols = st.columns(5)
    cols[0].metric("Teams", t.height, border=True)
    cols[1].metric("Tool calls", f"{t['tool_calls'].sum():,.0f}", border=True)
    cols[2].metric("CPU core-hours", f"{t['cpu_core_hours'].sum():,.1f}", border=True)
    cols[3].metric("Memory GiB-hours", f"{t['memory_gib_hours'].sum():,.1f}", border=True)
    cols[4].metric(f"Cost ({r.currency}, {r.basis})", f"{t['cost'].sum():,.2f}", border=True)


def body() -> None:
    tr = controls.resolve()
    usage = ui.console().usage
    args = (tr.start_ms, tr.end_ms, controls.filters, prices.model_dump_json(), basis)
    r = _report(usage.cache_key, *args, usage)
    if usage.user is not None:
        # usernames are [a-z0-9._@-] (core.access.accounts): no backtick can end the code span
        st.caption(f"Your own usage: series with `user` label `{usage.user}` and their servers' tool calls.")
    if r.teams.is_empty():
        render.no_data(tr, "usage")
        return
    kpis(r)
    st.subheader("Per team" if usage.user is None else "Your usage")
    shown = r.teams.select("team", *[c for c in COLUMNS if r.teams[c].null_count() < r.teams.height])
    growth = NUM("Growth %", format="%+.1f", help=f"Tool calls: {r.growth_basis}")
    render.table(shown, r.teams, "usage-per-team", tr, {**COLUMNS, "growth_pct": growth})
    st.caption(f"Growth: {r.growth_basis}.")
    options = trend_choices(r.trend)
    pick = st.segmented_control("Trend of", options, default=options[0], key="usage.trend") or options[0]
    fig = trend_figure(r.trend, pick, buckets_of(tr.span_ms)[1])
    render.chart(fig, r.trend, "usage-trend", tr, "usage")
    left, right = st.columns(2)
    with left:
        st.subheader("Top users")
        shown = r.users.head(TOP).select("user", "team", "sessions", "tool_calls", "cost")
        render.table(shown, r.users, "usage-per-user", tr, COLUMNS)
    with right:
        st.subheader("Top MCP servers")
        shown = r.servers.head(TOP).select("server", "team", "user", "tool_calls", "cost")
        render.table(shown, r.servers, "usage-per-server", tr, COLUMNS)
    render.freshness(tr, controls.live)


prices, basis = showback(ui.console().usage)  # sidebar widgets stay outside the live fragment
snapshot_button(ui.console().usage)
controls_ui.run(controls, body)
