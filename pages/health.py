"""Health: are the hosts and MCP servers up and within their limits, now and over the range."""

import polars as pl
import streamlit as st

from core import charts
from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.kernel.times import TimeRange
from core.views import collectors as collectors_view
from core.views import health
from pages import _common as ui
from pages import _controls as controls_ui
from pages import _keys as K
from pages import _render as render

NO_DAEMON = "The collector daemon has not reported yet: start `pulse collect` (or `pulse up`)."
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
            host_charts(tr)
    with board:
        status_board(tr)
    if tab_servers.open:
        with tab_servers:
            server_charts(tr)
    if tab_heat.open:
        with tab_heat:
            heatmap(tr)


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


def host_charts(tr: TimeRange) -> None:
    grid = st.columns(2)
    for i, key in enumerate(("cpu", "memory", "disk", "load1")):
        panel = health.HOST_PANELS[key]
        df = ui.query(health.host_series, tr, controls.filters, key)
        with grid[i % 2]:
            render.chart(charts.line(df, panel.title, panel.unit), df, f"health-host-{key}", tr)
    net = ui.query(health.host_network, tr, controls.filters)
    for i, way in enumerate(("receive", "transmit")):
        part = net.filter(pl.col("direction") == way).drop("direction")
        with grid[i % 2]:
            chart = charts.line(part, f"Network {way}", "bytes_per_s")
            render.chart(chart, part, f"health-host-network-{way}", tr)


def server_charts(tr: TimeRange) -> None:
    grid = st.columns(2)
    with grid[0]:
        df = ui.query(health.servers_up_series, tr, controls.filters)
        render.chart(charts.servers_up(df), df, "health-servers-up", tr)
    for i, (method, title) in enumerate(
        (("ping", "Ping latency, slowest servers"), ("tools/list", "tools/list latency, slowest servers"))
    ):
        df = ui.query(health.server_latency, tr, controls.filters, method)
        with grid[(i + 1) % 2]:
            render.chart(
                charts.line(df, title, "seconds", color="server"), df, f"health-servers-{method}", tr
            )


def heatmap(tr: TimeRange) -> None:
    heat = controls_ui.url_select(
        "Metric",
        ["cpu", "memory", "disk"],
        K.HEATMAP_PANEL,
        K.W_HEATMAP_PANEL,
        K.QP_HEATMAP,
        format_func=lambda k: health.HOST_PANELS[k].title,
        width=320,
    )
    df = ui.query(health.utilization_heatmap, tr, controls.filters, heat)
    render.chart(
        charts.heatmap(df, f"{health.HOST_PANELS[heat].title} per host"),
        df,
        f"health-heatmap-{heat}",
        tr,
    )


@st.cache_data(ttl=10, max_entries=4, show_spinner=False)
def _collector_health(url: str) -> dict[str, dict[str, object]]:
    return ui.console().collector_health()


def collectors() -> None:
    """The daemon's own health: no team data, so everyone who may open the page sees it."""
    st.subheader("Collectors and sources")
    b = ui.backend()
    try:
        df = collectors_view.collector_health(_collector_health(b.url), b.now_ms())
    except PulseError as exc:
        st.warning(f"The metrics store did not answer: {md_text(exc)}", icon=":material/sync_problem:")
        return
    if df.is_empty():
        st.info(NO_DAEMON, icon=":material/sensors_off:")
        return
    shown = render.in_ms(df, ["last_duration_s"]).select(
        "collector", "state", "age", "last_duration_s", pl.col("error").fill_null("")
    )
    columns = {
        "collector": "Collector",
        "state": "State",
        "age": "Last success",
        "last_duration_s": MS("Last run", format="%.0f ms", width="small"),
        "error": st.column_config.TextColumn("Error", width="large"),
    }
    render.table(shown, df, "health-collectors", controls.resolve(), columns)


# the fleet first; the collectors' table below shows even when there is no fleet data yet
if ui.has_data(["host_up", "mcp_server_up"], "hosts or MCP servers"):
    controls_ui.run(controls, body)
collectors()
