"""Incidents: the list, one incident's alerts and timeline, acknowledge / resolve / notes, the report."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from core.access.policy import Action
from core.incidents.report_charts import figure
from core.kernel import csvsafe as export
from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.kernel.times import TimeRange, fmt_utc
from core.kernel.units import span
from core.views import incidents as iv
from pages import _common as ui
from pages import _controls as controls_ui
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
        )
        if chosen:
            detail(chosen, tr)
    mtta(tr)


def detail(incident_id: int, tr: TimeRange) -> None:
    f = console.incidents.detail(incident_id)
    inc = f.detail.incident
    st.subheader(f"#{inc.id} {md_text(inc.title)}")
    facts = [
        ("State", inc.state),
        ("Severity", inc.severity),
        ("Alerts firing", f"{inc.firing_count} of {inc.alert_count}"),
        ("Teams", ", ".join(inc.teams) or iv.NO_TEAM),
    ]
    for col, (label, value) in zip(st.columns(len(facts)), facts, strict=True):
        col.metric(label, value, border=True)
    acked = (
        f"acknowledged {fmt_utc(inc.acked_ms)} by {inc.acked_by}" if inc.acked_ms else "not acknowledged yet"
    )
    resolved = f"resolved {fmt_utc(inc.resolved_ms)}" if inc.resolved_ms else "not resolved"
    assignee = f" · assigned to {inc.assignee}" if inc.assignee else ""
    st.caption(md_text(f"Opened {fmt_utc(inc.opened_ms)} · {acked} · {resolved}{assignee}"))
    team = inc.teams[0] if inc.teams else None
    if console.may(action=Action.ACKNOWLEDGE, team=team):
        actions(incident_id, inc.state, team)
    left, right = st.columns(2)
    with left:
        st.markdown("**Alerts**")
        render.table(f.alerts, f.alerts, f"incident-{incident_id}-alerts", tr)
    with right:
        st.markdown("**Timeline**")
        render.table(f.timeline, f.timeline, f"incident-{incident_id}-timeline", tr)
    report(incident_id, tr)


def actions(incident_id: int, state: str, team: str | None) -> None:
    """Acknowledge and notes for whoever may acknowledge; resolve, reopen, assign and action items
    for team leads and admins (docs/roles)."""
    lead = console.may(action=Action.RESOLVE, team=team)
    b1, b2, b3 = st.columns(3)
    try:
        if state == "triggered" and b1.button("Acknowledge", icon=":material/task_alt:", type="primary"):
            console.incidents.acknowledge(incident_id)
            st.rerun()
        if lead and state != "resolved" and b2.button("Resolve", icon=":material/check_circle:"):
            console.incidents.resolve(incident_id)
            st.rerun()
        if lead and state == "resolved" and b3.button("Reopen", icon=":material/replay:"):
            console.incidents.reopen(incident_id)
            st.rerun()
    except PulseError as exc:
        st.error(md_text(exc), icon=":material/error:")
    with st.form(f"note-{incident_id}", clear_on_submit=True, border=True):
        note = st.text_area("Add a note to the timeline", placeholder="What you found, what you did")
        assignee = st.text_input("Assign to (username, empty keeps the assignee)") if lead else ""
        item = st.text_input("Add an action item for the post-incident report") if lead else ""
        if st.form_submit_button("Save", icon=":material/save:"):
            try:
                if note.strip():
                    console.incidents.add_note(incident_id, note)
                if assignee.strip():
                    console.incidents.assign(incident_id, assignee.strip())
                if item.strip():
                    console.incidents.add_action_item(incident_id, item.strip())
                st.rerun()
            except PulseError as exc:
                st.error(md_text(exc), icon=":material/error:")


def report(incident_id: int, tr: TimeRange) -> None:
    with st.expander("Post-incident report"):
        r = console.incidents.report(incident_id)
        st.caption(
            f"Impact {fmt_utc(r.impact_start_ms)} to {'now' if r.ongoing else fmt_utc(r.impact_end_ms)}"
            f" · {span((r.impact_end_ms - r.impact_start_ms) / 1000)}"
        )
        for data in console.incidents.report_charts(r):
            if not data.frame.is_empty():
                st.plotly_chart(
                    figure(data, r.impact_start_ms, r.impact_end_ms), theme=None, key=f"rep.{data.spec.title}"
                )
        files = console.incidents.report_files(incident_id)
        name = export.file_name(f"incident-{incident_id}", r.impact_start_ms, r.impact_end_ms).removesuffix(
            ".csv"
        )
        c1, c2, c3 = st.columns(3)
        c1.download_button(
            "Report (Markdown)", files.markdown, f"{name}.md", "text/markdown", on_click="ignore"
        )
        c2.download_button(
            "Timeline (CSV)", files.timeline_csv, f"{name}-timeline.csv", "text/csv", on_click="ignore"
        )
        c3.download_button(
            "Alerts (CSV)", files.alerts_csv, f"{name}-alerts.csv", "text/csv", on_click="ignore"
        )


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
