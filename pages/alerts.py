"""Alerts: what fires and what waits, by priority; why some are muted; silence or acknowledge a row."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from core.access.policy import Action
from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.kernel.times import TimeRange, fmt_utc
from core.views import alerts as av
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
        pick = st.selectbox(
            "Silence an alert, acknowledge its incident or see its rule's history",
            [None, *by_fp],
            format_func=lambda fp: "Choose an alert…" if fp is None else _name(by_fp[fp]),
            key=K.W_ALERT_PICK,
        )
        if pick is not None:
            selected(by_fp[pick], tr)
    silences(tr)


def _name(row: dict[str, object]) -> str:
    where = " / ".join(str(row[k]) for k in ("host", "server") if row.get(k))
    return f"{row['level']} · {row['alertname']} ({row['state']}){' on ' + where if where else ''}"


def selected(row: dict[str, object], tr: TimeRange) -> None:
    labels = dict(p.split("=", 1) for p in str(row["labels"]).split(", ") if "=" in p)
    labels["alertname"] = str(row["alertname"])
    st.subheader(md_text(f"{row['alertname']}: {row['summary'] or ''}"))
    left, right = st.columns(2)
    with left:
        if console.may(action=Action.SILENCE, team=labels.get("team")):
            with st.form("silence", border=True):
                st.markdown("**Silence**")
                matchers = st.text_area(
                    "Matchers, one per line", "\n".join(console.alerts.silence_matchers(labels))
                )
                minutes = st.number_input("For (minutes)", 1, 30 * 24 * 60, 60)
                comment = st.text_input("Why", placeholder="Planned maintenance of the host")
                if console.scope is not None:
                    st.caption("Your team's matcher is added: you silence your teams' alerts only.")
                preview = st.form_submit_button("Preview", icon=":material/visibility:")
                if preview:
                    try:
                        n = console.alerts.preview_silence(matchers.splitlines())
                        st.info(f"This silence matches {n} of your alerts now.", icon=":material/info:")
                    except ValueError as exc:
                        st.error(md_text(exc), icon=":material/error:")
                if st.form_submit_button("Silence", icon=":material/notifications_off:"):
                    try:
                        s = console.alerts.create_silence(matchers.splitlines(), float(minutes), comment)
                    except (ValueError, PulseError) as exc:
                        st.error(md_text(exc), icon=":material/error:")
                    else:
                        _alerts.clear()
                        st.success(f"Silenced until {fmt_utc(s.ends_ms)} (id {s.id[:8]}).")
    with right:
        if console.may(action=Action.ACKNOWLEDGE, team=labels.get("team")):
            iid = console.alerts.incident_of(str(row["fingerprint"]))
            if iid is not None:
                st.markdown(f"Part of incident **#{iid}**.")
                if st.button("Acknowledge the incident", icon=":material/task_alt:"):
                    try:
                        console.alerts.acknowledge_incident(iid, labels.get("team"))
                        st.success(f"Incident #{iid} acknowledged: its escalation stops.")
                    except PulseError as exc:
                        st.error(md_text(exc), icon=":material/error:")
            else:
                st.caption("Not part of an open incident (pending alerts are not).")
    st.markdown("**History of this rule** (range of the sidebar)")
    hist = console.alerts.rule_history(str(row["rule"]), tr.start_ms, tr.end_ms)
    render.table(hist, hist, f"alerts-history-{row['alertname']}", tr)


def silences(tr: TimeRange) -> None:
    with st.expander("Silences"):
        df = console.alerts.silences()
        if df.is_empty():
            st.caption("No silence is active or scheduled.")
            return
        render.table(df, df, "alerts-silences", tr)
        active = df.filter(pl.col("state") != "expired")["id"].to_list()
        endable = [i for i in active if console.alerts.may_end(i)]
        if endable:
            sid = st.selectbox("End a silence now", endable, format_func=lambda i: i[:8])
            if st.button("End silence", icon=":material/notifications_active:"):
                try:
                    console.alerts.end_silence(sid)
                except PulseError as exc:
                    st.error(md_text(exc), icon=":material/error:")
                else:
                    _alerts.clear()
                    st.rerun()


controls_ui.run(controls, body)
