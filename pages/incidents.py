"""Incidents: the list, one incident's alerts and timeline, acknowledge / resolve / notes, the report."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.kernel.times import TimeRange
from pages import _common as ui
from pages import _controls as controls_ui
from pages import _incident_detail as incident
from pages import _keys as K
from pages import _render as render

ui.page_header("Incidents", "incidents")
controls = controls_ui.sidebar_controls()
console = ui.console()
SHOW = {"open": ("triggered", "acknowledged"), "resolved": ("resolved",), "all": ()}
DT = st.column_config.DatetimeColumn
COLUMNS: dict[str, Any] = {
    "id": st.column_config.NumberColumn("#", format="%d"),
    "level": "Priority",
    "title": "Incident",
    "state": "State",
    "severity": "Severity",
    "teams": "Teams",
    "assignee": "Assignee",
    "opened": DT("Opened (UTC)", format="YYYY-MM-DD HH:mm"),
    "firing_count": st.column_config.NumberColumn("Firing", format="%d"),
    "alert_count": st.column_config.NumberColumn("Alerts", format="%d"),
}


def body() -> None:
    tr = controls.resolve()
    show = controls_ui.url_select(
        "Show", list(SHOW), K.INCIDENT_STATES, K.W_INCIDENT_STATES, K.QP_INCIDENT_STATES, str.capitalize, 240
    )
    try:
        # open incidents opened before the range ends, whenever that was; others opened in the range
        since = None if show == "open" else tr.start_ms
        df = console.incidents.listing(SHOW[show], since, tr.end_ms, controls.filters)
    except PulseError as exc:
        st.warning(f"The incidents could not be read: {md_text(exc)}", icon=":material/sync_problem:")
        return
    if df.is_empty():
        st.success(
            f"No {'' if show == 'all' else show + ' '}incident in this range.",
            icon=":material/check_circle:",
        )
    else:
        shown = df.select(*COLUMNS).with_columns(pl.col(pl.Utf8).fill_null(""))
        render.grid(shown, COLUMNS)
        render.download(df, "incidents", tr)
        titles = {
            int(i): f"#{i} {lvl} · {t} ({s})"
            for i, lvl, t, s in df.select("id", "level", "title", "state").iter_rows()
        }
        chosen = controls_ui.url_select(
            "Open an incident (its link can be shared)",
            [0, *titles],
            K.INCIDENT,
            K.W_INCIDENT,
            K.QP_INCIDENT,
            lambda i: "Choose an incident…" if i == 0 else titles[i],
            not_listed=lambda v: (
                f"The linked incident {v} is not in this list: it is outside the range "
                "or the states shown, or not one of your teams' incidents."
            ),
        )
        if chosen:
            incident.detail(console, chosen, tr)
    mtta(tr)


def mtta(tr: TimeRange) -> None:
    st.subheader("Time to acknowledge and to resolve")
    df = console.incidents.mtta_mttr(tr.start_ms, tr.end_ms, controls.filters)
    if df.is_empty():
        st.caption(f"No incident opened in {tr.label.lower()}.")
        return
    shown = df.with_columns(pl.col(c) / 60 for c in df.columns if c.endswith("_s"))
    cols = {
        c: st.column_config.NumberColumn(c.removesuffix("_s").replace("_", " ") + " (min)", format="%.1f")
        for c in df.columns
        if c.endswith("_s")
    }
    render.table(shown, df, "incidents-mtta-mttr", tr, cols)


controls_ui.run(controls, body)
