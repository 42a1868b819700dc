"""The profiles stored on an incident (recorded by py-spy when a latency-regression alert about a
server fired): the hottest functions, a flame graph and the speedscope file to download. The event
text comes from process names and code: it is shown as text only."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.kernel.times import fmt_utc
from core.optimization.flame import flame_figure
from core.optimization.profiles import top_functions
from core.seam import Console
from pages import _render as render

NUM = st.column_config.NumberColumn
COLUMNS: dict[str, Any] = {
    "function": st.column_config.TextColumn("Function", width="large"),
    "self_pct": NUM("Self %", format="%.1f"),
    "total_pct": NUM("Total %", format="%.1f"),
}


def render_profiles(console: Console, incident_id: int, tr: Any) -> None:
    for i, p in enumerate(console.incidents.profiles(incident_id)):
        with st.expander(f"Profile recorded {fmt_utc(p.at_ms)}", icon=":material/speed:"):
            st.text(p.text)
            if p.profile is None:
                continue
            top = top_functions(p.profile, 20)
            render.table(
                top.select("function", "self_pct", "total_pct"),
                top,
                f"incident-{incident_id}-profile-{i}",
                tr,
                COLUMNS,
            )
            st.plotly_chart(flame_figure(p.profile), key=f"incident.{incident_id}.flame.{i}")
            st.download_button(
                "Download speedscope JSON",
                p.speedscope_json,
                file_name=f"incident-{incident_id}-profile-{i + 1}.speedscope.json",
                mime="application/json",
                on_click="ignore",
                key=f"incident.{incident_id}.profile.{i}",
            )
