"""The Optimization page's Lifecycle tab: mark a server's right-sizing applied, dismissed (with
the reason) or snoozed, see every recommendation's state, and for an applied one the measured
before/after with its confidence interval. Scoping and permissions are the seam's."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.records.recommendations import RECOMMENDATION_STATES
from core.kernel.text import md_text
from core.optimization.impact import ImpactSettings
from pages import _common as ui
from pages import _render as render

NUM = st.column_config.NumberColumn
IMPACT_COLUMNS: dict[str, Any] = {
    "before": NUM("Before", format="%.3f"),
    "after": NUM("After", format="%.3f"),
    "change_pct": NUM("Change %", format="%.1f"),
    "ci_low": NUM("CI low", format="%.3f"),
    "ci_high": NUM("CI high", format="%.3f"),
    "verdict": "Verdict",
}
DAY_MS = 86_400_000


def render_tab(recs: pl.DataFrame, tr: Any) -> None:
    rec = ui.console().recommendations
    with st.form("opt.mark", border=True):
        st.caption("Mark a server's right-sizing")
        c1, c2 = st.columns(2)
        server = c1.selectbox("Server", sorted(recs["server"].unique()), key="opt.mark.server")
        state = c2.selectbox("New state", RECOMMENDATION_STATES, index=1, key="opt.mark.state")
        reason = st.text_input("Why (required to dismiss)", key="opt.mark.reason", max_chars=2000)
        days = st.number_input("Snooze for (days)", 1, 90, 7, key="opt.mark.days")
        if st.form_submit_button("Record"):
            until = ui.console().now_ms() + int(days) * DAY_MS if state == "snoozed" else None
            try:
                rec.mark("rightsizing", str(server), str(state), reason, until)
                st.success(f"{md_text(server)} is now {state}.", icon=":material/check_circle:")
            except PulseError as exc:
                st.error(md_text(exc), icon=":material/error:")
    states = rec.states()
    if states.is_empty():
        st.info("No recommendation has been applied, dismissed or snoozed yet.", icon=":material/info:")
        return
    render.table(states, states, "optimization-lifecycle", tr)
    measured = ("rightsizing", "database")  # a server's resources, or an index's statement
    applied = states.filter((pl.col("state") == "applied") & pl.col("kind").is_in(measured))
    if applied.is_empty():
        return
    key = st.selectbox("Measured before/after of", applied["key"].to_list(), key="opt.impact.key")
    hours = st.slider("Window before and after (hours)", 6, 24 * 14, 72, key="opt.impact.hours")
    try:
        impact = rec.impact(str(key), ImpactSettings(window_hours=hours))
    except PulseError as exc:
        st.error(md_text(exc), icon=":material/error:")
        return
    if impact.is_empty():
        st.info(
            "Too early to tell: the window after it was applied is still too short.",
            icon=":material/hourglass:",
        )
        return
    render.table(impact, impact, "optimization-impact", tr, IMPACT_COLUMNS)
    st.caption(
        "95 % bootstrap interval of the change in the mean per bucket; a verdict only when it excludes zero. "
        "An index: the statement's mean time per call (pg_stat_statements, as the postgres source collects it)."
    )
