"""One incident on the Incidents page: facts, acknowledge / resolve / notes, alerts, timeline and
the post-incident report with its downloads. Not a page (app.py lists its pages)."""

from __future__ import annotations

import streamlit as st

from core.access.policy import Action
from core.incidents.report_charts import figure
from core.kernel import csvsafe as export
from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.kernel.times import TimeRange, fmt_utc
from core.kernel.units import span
from core.seam import Console
from core.views import incidents as iv
from pages import _render as render
from pages._incident_profiles import render_profiles


def detail(console: Console, incident_id: int, tr: TimeRange) -> None:
    """One incident: facts, actions, its alerts and timeline, the post-incident report."""
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
        actions(console, incident_id, inc.state, team)
    left, right = st.columns(2)
    with left:
        st.markdown("**Alerts**")
        render.table(f.alerts, f.alerts, f"incident-{incident_id}-alerts", tr)
    with right:
        st.markdown("**Timeline**")
        render.table(f.timeline, f.timeline, f"incident-{incident_id}-timeline", tr)
    render_profiles(console, incident_id, tr)
    report(console, incident_id)


def actions(console: Console, incident_id: int, state: str, team: str | None) -> None:
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


def report(console: Console, incident_id: int) -> None:
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
