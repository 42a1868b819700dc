"""Alerts: what fires and what waits, by priority; why some are muted; silence or acknowledge a row."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.views import alerts as av
from pages import _alert_actions as actions
from pages import _common as ui
from pages import _controls as controls_ui
from pages import _keys as K
from pages import _render as render

ui.page_header("Alerts", "alerts")
controls = controls_ui.sidebar_controls()

console = ui.console()
NUM = st.column_config.NumberColumn
COLUMNS: dict[str, Any] = {
    "level": st.column_config.TextColumn("Priority", help="P1 (most urgent) .. P5, from severity and impact"),
    "alertname": "Alert",
    "severity": "Severity",
    "state": "State",
    "muted": st.column_config.TextColumn(
        "Muted", help="Not notified: silenced, or inhibited by another alert"
    ),
    "team": "Team",
    "host": "Host",
    "server": "Server",
    "summary": "Summary",
    "value": NUM("Value", format="%.4g"),
    "since": st.column_config.DatetimeColumn("Since (UTC)", format="YYYY-MM-DD HH:mm"),
}


@st.cache_data(ttl=5, max_entries=16, show_spinner=False)
def _alerts(key: tuple[Any, ...], bucket: int, _console: Any) -> av.AlertsView:
    """The alert table, cached per 5 s ``bucket`` of time (the daemon evaluates every 30 s)."""
    view: av.AlertsView = _console.alerts.current()
    return view


def _filter(df: pl.DataFrame) -> pl.DataFrame:
    f = controls.filters
    for col, values in (("host", f.hosts), ("team", f.teams), ("server", f.servers)):
        if values:
            df = df.filter(pl.col(col).is_in(list(values)))
    return df


def body() -> None:
    tr = controls.resolve()
    try:
        view = _alerts(console.cache_key, console.now_ms() // 5000 * 5000, console)
    except PulseError as exc:
        st.warning(f"The alert states could not be read: {md_text(exc)}", icon=":material/sync_problem:")
        return
    df = _filter(view.table)
    counts = av.counts_of(df)  # of what the filters select, as the table below
    for col, label in zip(st.columns(3), ("Firing", "Pending", "Muted"), strict=True):
        col.metric(label, counts[label.lower()], border=True)
    if df.is_empty():
        st.success("No alert is firing or pending.", icon=":material/check_circle:")
        st.caption("Rules are evaluated by `pulse collect`; see docs/alerting.md to add rules and channels.")
    else:
        shown = df.select(*COLUMNS).with_columns(pl.col(pl.Utf8).fill_null(""))
        render.grid(shown, COLUMNS)
        render.download(df, "alerts", tr)
        by_fp = {str(r["fingerprint"]): r for r in df.iter_rows(named=True)}
        linked = st.query_params.get(K.QP_ALERT)  # a notification's link: ?alert=<fingerprint>
        if linked and K.W_ALERT_PICK not in st.session_state:
            if linked in by_fp:
                st.session_state[K.W_ALERT_PICK] = linked
            else:
                st.info(
                    "The linked alert is not firing or pending now, or it is not one of your teams' "
                    "alerts (its rule's history may still have it).",
                    icon=":material/link_off:",
                )
        pick = st.selectbox(
            "Silence an alert, acknowledge its incident or see its rule's history",
            [None, *by_fp],
            format_func=lambda fp: "Choose an alert…" if fp is None else _name(by_fp[fp]),
            key=K.W_ALERT_PICK,
        )
        if pick is not None:
            actions.selected(console, by_fp[pick], tr, _alerts.clear)
    actions.silences(console, tr, _alerts.clear)


def _name(row: dict[str, object]) -> str:
    where = " / ".join(str(row[k]) for k in ("host", "server") if row.get(k))
    return f"{row['level']} · {row['alertname']} ({row['state']}){' on ' + where if where else ''}"


controls_ui.run(controls, body)
