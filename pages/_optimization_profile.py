"""The Optimization page's Profile tab (admins only): sample a Python process by PID with py-spy,
then its hottest functions, a flame graph and the speedscope file."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.optimization.flame import flame_figure
from core.optimization.profiles import Profile, to_speedscope, top_functions
from pages import _common as ui
from pages import _render as render

RESULT = "opt.profile.result"
NUM = st.column_config.NumberColumn
COLUMNS: dict[str, Any] = {
    "function": st.column_config.TextColumn("Function", width="large"),
    "self_pct": NUM("Self %", format="%.1f"),
    "total_pct": NUM("Total %", format="%.1f"),
}


def render_tab(tr: Any) -> None:
    prof = ui.console().profiling
    c1, c2 = st.columns(2)
    pid = c1.number_input("Process id (PID)", 1, 2**22, None, key="opt.profile.pid", placeholder="e.g. 4242")
    duration = c2.slider("Seconds", 1, 60, 10, key="opt.profile.seconds")
    if st.button("Record profile", key="opt.profile.run", icon=":material/speed:", disabled=pid is None):
        try:
            with st.spinner(f"Sampling process {int(pid or 0)} for {duration} s with py-spy…"):
                st.session_state[RESULT] = prof.record(int(pid or 0), float(duration))
        except PulseError as exc:
            st.error(md_text(exc), icon=":material/error:")
            return
    profile: Profile | None = st.session_state.get(RESULT)
    if profile is None:
        st.caption("py-spy samples the process from outside: it is never paused or changed.")
        return
    st.text(f"{profile.source}: {profile.total:.3g} {profile.unit} sampled over {profile.duration_s:.1f} s")
    for note in profile.notes:
        st.info(note, icon=":material/info:")
    top = top_functions(profile, 30)
    render.table(top.select("function", "self_pct", "total_pct"), top, "optimization-profile", tr, COLUMNS)
    st.plotly_chart(flame_figure(profile), key="opt.profile.flame")
    st.download_button(
        "Download speedscope JSON",
        json.dumps(to_speedscope(profile)).encode(),
        file_name="profile.speedscope.json",
        mime="application/json",
        key="opt.profile.download",
    )
