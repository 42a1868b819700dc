"""Actions on one alert of the Alerts page: silence it, acknowledge its incident, its rule's
history; and the list of silences with "end now". Not a page (app.py lists its pages)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import streamlit as st

from core.access.policy import Action
from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.kernel.times import TimeRange, fmt_utc
from core.seam import Console
from pages import _render as render


def selected(console: Console, row: dict[str, object], tr: TimeRange, changed: Callable[[], None]) -> None:
    """Silence, acknowledge and history of the alert in ``row``; ``changed`` drops cached alerts."""
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
                        changed()
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


def silences(console: Console, tr: TimeRange, changed: Callable[[], None]) -> None:
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
                    changed()
                    st.rerun()
