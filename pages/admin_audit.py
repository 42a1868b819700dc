"""Admin: the audit log. Who changed what and when, before and after, filtered; CSV download.

Thin: the entries come from ``console.admin.audit`` (admins only); values were masked before they
were stored, and the table and the CSV are neutralised by ``pages/_render``.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.records.audit import AuditQuery
from core.kernel.text import md_text
from core.kernel.times import TimeRange, fmt_utc
from pages import _common as ui
from pages import _keys as K
from pages import _render as render

ui.page_header("Audit log", "admin_audit")
admin = ui.console().admin
RANGES = {"Last 24 hours": 1, "Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90, "Everything": None}
ANY = "(any)"
SHOWN = 5_000  # entries read at most (newest first)
COLUMNS: dict[str, Any] = {
    "time": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "actor": "Who",
    "source": "From",
    "action": "Action",
    "object": "Object",
    "changes": st.column_config.TextColumn("What changed", width="large"),
}


def choice(label: str, column: str, key: str) -> str | None:
    picked = st.selectbox(label, [ANY, *admin.audit_choices(column)], key=key)
    return None if picked == ANY else picked


def body() -> None:
    now = ui.console().now_ms()
    when, who, what, obj = st.columns([1, 1, 1, 1.2])
    with when:
        days = RANGES[st.selectbox("Time", list(RANGES), index=1, key=K.W_AUDIT_RANGE)]
    with who:
        actor = choice("Who", "actor", K.W_AUDIT_ACTOR)
    with what:
        action = choice("Action", "action", K.W_AUDIT_ACTION)
    with obj:
        text = st.text_input("Object contains", key=K.W_AUDIT_OBJECT, placeholder="a username, a silence id")
    start = 0 if days is None else now - days * 86_400_000
    query = AuditQuery(
        since_ms=start,
        until_ms=now,
        actor=actor,
        action=action,
        object_text=text.strip() or None,
        limit=SHOWN,
    )
    df = admin.audit(query)
    st.caption(
        f"{df.height} {'entry' if df.height == 1 else 'entries'} from {fmt_utc(start) if start else 'the start'} to {fmt_utc(now)}, newest first."
    )
    if df.height == SHOWN:
        st.caption(f"Only the newest {SHOWN:,} are shown: narrow the filters, or use `pulse audit` for all.")
    if df.is_empty():
        st.info("No admin change matches these filters.", icon=":material/search_off:")
        return
    render.grid(df.select(*COLUMNS), COLUMNS)
    render.download(df, "audit", TimeRange("custom", start, now, 60_000))
    picked = st.selectbox(
        "Before and after of one entry",
        range(df.height),
        format_func=lambda i: " · ".join([f"{df['time'][i]:%Y-%m-%d %H:%M:%S}", *map(str, df.row(i)[1:5])]),
        index=None,
        placeholder="Choose an entry…",
    )
    if picked is not None:
        row = df.row(picked, named=True)
        left, right = st.columns(2)
        left.markdown("**Before**")
        left.code(_pretty(row["before"]), language="json")
        right.markdown("**After**")
        right.code(_pretty(row["after"]), language="json")


def _pretty(text: str) -> str:
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False) if text else "(none)"


try:
    body()
except PulseError as exc:
    st.warning(f"The audit log could not be read: {md_text(exc)}", icon=":material/sync_problem:")
