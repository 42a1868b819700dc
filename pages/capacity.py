"""Capacity: the fleet's CPU and memory forecast, a what-if planner, saved scenarios and history.

The baseline forecast is computed once per hour and range (cached); the what-if controls only
re-project it (core.capacity.planner), so moving a slider reads nothing and fits nothing. The
what-if part is a fragment (``planner``): a slider moved reruns only it, with the baseline it was
given, not the page (its header, the cached reads, the history tabs).
"""

from __future__ import annotations

import streamlit as st

from core.capacity import charts as cap_charts
from core.capacity.fleet import MEM_USED, UTIL, Baseline
from core.capacity.planner import Projection, project
from core.capacity.scenario import ScenarioError, make_scenario
from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.kernel.times import TimeRange, fmt_utc
from core.seam import Console
from pages import _capacity_history as history
from pages import _capacity_saved as saved
from pages import _capacity_whatif as whatif
from pages import _common as ui
from pages import _keys as K
from pages import _render as render
from pages._capacity_tables import exhaustion_table, metrics, model_note

HOUR_MS, DAY_MS = 3_600_000, 86_400_000

ui.page_header("Capacity", "capacity")
ui.require_data([UTIL, MEM_USED], "host usage")
console = ui.console()


@st.cache_data(ttl=3600, max_entries=16, show_spinner=False)
def _baseline(key: tuple[object, ...], end_ms: int, days: int, horizon: int, _c: Console) -> Baseline:
    return _c.plans.baseline(end_ms, days, horizon)


with st.sidebar:
    days = st.selectbox("History", (14, 28, 56), index=1, key=K.W_CAP_HISTORY, format_func="{} days".format)
    horizon = st.selectbox(
        "Forecast horizon", (7, 14, 30, 60, 90), index=2, key=K.W_CAP_HORIZON, format_func="{} days".format
    )
end_ms = console.now_ms() // HOUR_MS * HOUR_MS
with st.spinner("Forecasting the fleet's CPU and memory (a few seconds the first time)…"):
    try:
        base = _baseline(console.cache_key, end_ms, days, horizon, console)
    except PulseError as exc:
        st.warning(f"The forecast could not be made: {md_text(exc)}", icon=":material/sync_problem:")
        st.stop()
tr = TimeRange("capacity", end_ms - days * DAY_MS, end_ms + horizon * DAY_MS, HOUR_MS)
if console.scope is not None:
    st.caption(
        f"Scoped to your teams ({md_text(', '.join(sorted(console.scope)) or 'none')}): capacity, load and "
        "cost are those of the hosts that run your teams' servers, other teams' servers on them included."
    )


@st.fragment
def planner(base: Baseline, tr: TimeRange) -> None:
    """The what-if widgets (in the sidebar), the projection, its charts and the saved scenarios."""
    values = whatif.inputs(base, console.settings.prices)
    proj: Projection | None = None
    try:
        proj = project(base, make_scenario(**values))
    except ScenarioError as exc:
        st.error(md_text(exc), icon=":material/error:")
    if proj is not None:
        projection(base, proj, tr)
    saved.section(base, tr)


def projection(base: Baseline, proj: Projection, tr: TimeRange) -> None:
    metrics(proj, horizon)
    for col, resource, title in zip(
        st.columns(2), ("cpu", "memory"), ("CPU utilization", "Memory utilization"), strict=True
    ):
        with col:
            fig = cap_charts.projection(
                proj.forecast, proj.history, resource, title, proj.scenario.target_utilization, base.cpu.level
            )
            render.chart(fig, proj.forecast.filter(resource=resource), f"capacity-{resource}", tr)
    st.caption(
        f"Models chosen by backtest on the last held-out span: {model_note('CPU', base.cpu)}, "
        f"{model_note('memory', base.memory)} (MASE against the seasonal naive forecast); bands are "
        f"{base.cpu.level} % prediction intervals. Forecast from {fmt_utc(end_ms)}."
    )
    st.subheader("Time to exhaustion")
    shown, data = exhaustion_table(proj, end_ms)
    render.table(shown, data, "capacity-exhaustion", tr)


if reason := base.undefined:
    st.info(f"Nothing to plan yet: {md_text(reason)}.", icon=":material/info:")
else:
    planner(base, tr)
history.section(end_ms)
