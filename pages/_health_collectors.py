"""The Health page's table of the daemon's collectors and sources. Not a page."""

from __future__ import annotations

import polars as pl
import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.kernel.times import TimeRange
from core.views import collectors as collectors_view
from pages import _common as ui
from pages import _render as render

NO_DAEMON = "The collector daemon has not reported yet: start `pulse collect` (or `pulse up`)."
MS = st.column_config.NumberColumn


@st.cache_data(ttl=10, max_entries=4, show_spinner=False)
def _collector_health(url: str) -> dict[str, dict[str, object]]:
    return ui.console().collector_health()


def collectors(tr: TimeRange) -> None:
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
    render.table(shown, df, "health-collectors", tr, columns)
