"""Self-monitoring's scheduler panel: the daemon's jobs as it last reported them, and "run now",
which the daemon takes from the database (the dashboard never runs a job itself)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.kernel.times import TimeRange
from core.seam import Console
from core.views import scheduler_status as sched_view
from pages import _render as render

K_JOB = "selfmon.job"
JOB_COLUMNS = {
    "job": "Job",
    "interval_s": st.column_config.NumberColumn("Every", format="%.0f s", width="small"),
    "next_run": st.column_config.DatetimeColumn("Next run", format="HH:mm:ss"),
    "last_run": st.column_config.DatetimeColumn("Last run", format="HH:mm:ss"),
    "last_duration_s": st.column_config.NumberColumn("Took", format="%.3f s", width="small"),
    "last_error": st.column_config.TextColumn("Last error", width="medium"),
    "runs": st.column_config.NumberColumn("Runs", width="small"),
    "errors": st.column_config.NumberColumn("Errors", width="small"),
}


def scheduler(c: Console, tr: TimeRange) -> None:
    """The jobs table, with a warning when the report is stale, and the "run now" button."""
    st.subheader("Scheduler")
    status = c.self_monitoring.scheduler_status()
    age = sched_view.report_age_ms(status, c.now_ms())
    if age is None:
        st.info(
            "The daemon has not reported its jobs yet: start `pulse collect`.", icon=":material/sensors_off:"
        )
        return
    daemon = md_text(str(status.get("daemon", "?")))
    stale = age > sched_view.STALE_AFTER_MS
    (st.warning if stale else st.caption)(
        f"Reported by `{daemon}` {age / 1000:.0f} s ago" + (": is it running?" if stale else "; times in UTC")
    )
    jobs = sched_view.jobs_frame(status).with_columns(pl.col("last_error").fill_null(""))
    render.table(jobs, jobs, "self-jobs", tr, JOB_COLUMNS)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    job = left.selectbox("Job", sched_view.job_names(status), key=K_JOB)
    if right.button("Run now", icon=":material/play_arrow:", width="stretch") and job:
        try:
            c.self_monitoring.run_now(job)
            st.success(f"Asked the daemon to run {md_text(job)} now; it takes the request within seconds.")
        except PulseError as exc:
            st.error(md_text(exc))
