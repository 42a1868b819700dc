"""Health: are the hosts and MCP servers up and within their limits, now and over the range."""

import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.times import TimeRange
from core.views import health
from pages import _common as ui
from pages import _controls as controls_ui
from pages import _health_charts as parts
from pages import _health_collectors as collectors
from pages import _keys as K
from pages import _render as render

ui.page_header("Health", "health")
controls = controls_ui.sidebar_controls()
PCT = st.column_config.ProgressColumn
MS = st.column_config.NumberColumn
STATUS_COLUMNS = {
    **{k: k.capitalize() for k in ("host", "server", "team", "kind", "status")},
    "reason": st.column_config.TextColumn("Reason", width="large"),
    "cpu": PCT("CPU", format="percent", min_value=0, max_value=1, width="small"),
    "memory": PCT("Memory", format="percent", min_value=0, max_value=1, width="small"),
    "disk": PCT("Disk (fullest)", format="percent", min_value=0, max_value=1, width="small"),
    "load1": MS("Load 1m", format="%.2f", width="small"),
    "ping_s": MS("Ping", format="%.0f ms", width="small"),
    "tools_list_s": MS("tools/list", format="%.0f ms", width="small"),
    "memory_of_limit": PCT("Mem / limit", format="percent", min_value=0, max_value=1, width="small"),
}


def body() -> None:
    """The status board and the charts. The Hosts chart panel is computed and sent first (the
    board above it is filled afterwards, in its place), so the first chart need not wait for the
    status queries and tables; the hidden tabs come last."""
    tr = controls.resolve()
    render.freshness(tr, controls.live)
    board = st.container()
    # only the open tab is computed and drawn (a tab switch reruns); the open tab is in the URL
    tab_hosts, tab_servers, tab_heat = st.tabs(
        ["Hosts", "MCP servers", "Heatmap"], key=K.QP_HEALTH_TAB, bind="query-params"
    )
    if tab_hosts.open:
        with tab_hosts:
            parts.host_charts(tr, controls.filters)
    with board:
        status_board(tr)
    if tab_servers.open:
        with tab_servers:
            parts.server_charts(tr, controls.filters)
    if tab_heat.open:
        with tab_heat:
            parts.heatmap(tr, controls.filters)


def status_board(tr: TimeRange) -> None:
    hosts = ui.query(health.host_status, tr.as_of_ms, controls.filters)
    servers = ui.query(health.server_status, tr.as_of_ms, controls.filters)
    h, s = health.status_counts(hosts), health.status_counts(servers)
    up = int(servers["up"].sum()) if not servers.is_empty() else 0
    cols = st.columns(5)
    cols[0].metric("Hosts OK", f"{h['ok']} / {hosts.height}", border=True)
    cols[1].metric(
        "Hosts critical", h["critical"], border=True, help="Down, silent, or over a critical threshold"
    )
    cols[2].metric("MCP servers up", f"{up} / {servers.height}", border=True)
    cols[3].metric("Servers with issues", s["warning"] + s["critical"], border=True)
    try:
        alerts = ui.alert_counts()
    except PulseError:
        alerts = None
    with cols[4]:
        firing = "?" if alerts is None else alerts["firing"]
        st.metric("Firing alerts", firing, border=True, help="Alerts of the rules `pulse collect` evaluates")
        st.page_link("pages/alerts.py", label="Open the alerts", icon=":material/notifications_active:")

    st.subheader("Hosts")
    shown = hosts.select("host", "status", "cpu", "memory", "disk", "load1", "reason")
    render.table(shown, hosts, "health-hosts", tr, STATUS_COLUMNS)
    st.subheader("MCP servers")
    shown = render.in_ms(servers, ["ping_s", "tools_list_s"])
    shown = shown.select(
        "server", "status", "host", "team", "kind", "ping_s", "tools_list_s", "memory_of_limit", "reason"
    )
    render.table(shown, servers, "health-servers", tr, STATUS_COLUMNS, height=320)


# the fleet first; the collectors' table below shows even when there is no fleet data yet
if ui.has_data(["host_up", "mcp_server_up"], "hosts or MCP servers"):
    controls_ui.run(controls, body)
collectors.collectors(controls.resolve())
