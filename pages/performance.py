"""Performance: tool-call rate, errors and latency per server and tool, against the previous period."""

import polars as pl
import streamlit as st

from core import charts
from core.kernel.units import fmt_count, fmt_delta_pct, fmt_percent, fmt_rate, fmt_seconds
from core.views import performance as perf
from pages import _common as ui
from pages import _controls as controls_ui
from pages import _keys as K
from pages import _performance_charts as charts_ui
from pages import _render as render

ui.page_header("Performance", "performance")
controls = controls_ui.sidebar_controls()
ui.require_data([perf.CALLS], "tool calls")
ALL = "All servers"
NUM = st.column_config.NumberColumn
COLUMNS = {
    "server": "Server",
    perf.TOOL: "Tool",
    "calls": NUM("Calls", format="compact"),
    "error_ratio": NUM("Errors", format="percent"),
    **{q: NUM(q, format="%.0f ms") for q in perf.QUANTILES},
    "calls_delta_pct": NUM("Calls Δ", format="%+.0f%%"),
    "error_ratio_delta_pp": NUM("Errors Δ (pp)", format="%+.1f"),
    "p95_delta_pct": NUM("p95 Δ", format="%+.0f%%"),
}
VS = "Change against the previous period of the same length"


def body() -> None:
    tr = controls.resolve()
    render.freshness(tr, controls.live)
    current = ui.query(perf.tool_buckets, tr, controls.filters)
    if current.is_empty():
        render.no_data(tr, "tool calls")
        return
    previous = ui.query(perf.tool_buckets, tr.previous(), controls.filters)
    server = controls_ui.url_select(
        "Drill down", [ALL, *perf.servers_of(current)], K.PERF_SERVER, K.W_PERF_SERVER, K.QP_DRILL, width=320
    )
    if server != ALL:
        current, previous = (b.filter(pl.col("server") == server) for b in (current, previous))
    by, of = ("server", "per server") if server == ALL else (perf.TOOL, f"per tool of {server}")
    now, before = perf.summarize(current, tr), perf.summarize(previous, tr.previous())
    d = perf.compare(now, before)
    pp = None if d.error_ratio_pp is None else f"{d.error_ratio_pp:+.2f} pp"
    for col, (label, value, delta, color) in zip(
        st.columns(5),
        (
            ("Tool calls", fmt_count(now.calls), fmt_delta_pct(d.calls_pct), "normal"),
            ("Calls per second", fmt_rate(now.calls_per_s, ""), None, "normal"),
            ("Error ratio", fmt_percent(now.error_ratio, 2), pp, "inverse"),
            ("p95 latency", fmt_seconds(now.p95), fmt_delta_pct(d.p95_pct), "inverse"),
            ("p99 latency", fmt_seconds(now.p99), fmt_delta_pct(d.p99_pct), "inverse"),
        ),
        strict=True,
    ):
        why = d.no_delta_because if label != "Calls per second" else None
        col.metric(label, value, delta, color, border=True, help=VS if delta else why)  # type: ignore[arg-type]

    charts_ui.panels(current, tr, controls.filters, by, of, None if server == ALL else server)

    table = perf.tool_table(current, previous, tr)
    shown = render.in_ms(table, list(perf.QUANTILES))
    slow, failing = st.columns(2)
    with slow:
        st.subheader("Slowest tools (p95)")
        top = shown.join(
            perf.top_tools(table, "p95").select("server", perf.TOOL), on=["server", perf.TOOL], how="semi"
        )
        render.table(
            top.sort("p95", descending=True).select("server", perf.TOOL, "calls", "p95", "p95_delta_pct"),
            top,
            "perf-top-slowest",
            tr,
            COLUMNS,
        )
    with failing:
        st.subheader("Most failing tools")
        top = perf.top_tools(shown, "error_ratio").filter(pl.col("errors") > 0)
        render.table(
            top.select("server", perf.TOOL, "calls", "error_ratio", "error_ratio_delta_pp"),
            top,
            "perf-top-failing",
            tr,
            COLUMNS,
        )
    st.subheader("All tools" if server == ALL else f"Tools of {server}")
    render.table(shown.drop("host", "team", "errors", "calls_per_s"), table, "perf-tools", tr, COLUMNS)
    dist = perf.latency_distribution(current, "p95", by)
    render.chart(
        charts.box(dist, f"Distribution of p95 latency {of}", "seconds"), dist, f"perf-distribution-{by}", tr
    )


controls_ui.run(controls, body)
