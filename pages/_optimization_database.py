"""The Optimization page's Database tab (admins only): index advice for a configured postgres
source, each candidate checked with a hypothetical index. SQL text is shown as text only."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.optimization.index_advice import IndexAdviceSettings
from pages import _common as ui
from pages import _render as render

RESULT = "opt.db.result"  # (source, rows) of the last check in this session
NUM = st.column_config.NumberColumn
COLUMNS: dict[str, Any] = {
    "ddl": st.column_config.TextColumn("Index", width="large"),
    "query": st.column_config.TextColumn("Statement", width="large"),
    "calls": NUM("Calls"),
    "mean_ms": NUM("Mean ms", format="%.2f"),
    "cost_before": NUM("Cost before", format="%.0f"),
    "cost_after": NUM("Cost after", format="%.0f"),
    "cost_cut": NUM("Cost cut", format="percent"),
    "index_size_bytes": NUM("Index size", format="bytes"),
    "risks": "Risks",
    "reason": "Why not",
}
SHOWN = ("status", *COLUMNS)


def render_tab(tr: Any) -> None:
    db = ui.console().database
    sources = db.sources()
    if not sources:
        st.info(
            "No postgres source is configured: add a `[[sources]]` table of kind postgres to pulse.toml.",
            icon=":material/info:",
        )
        return
    source = st.selectbox("Database (postgres source)", sources, key="opt.db.source")
    min_mean = st.number_input("Slower than (ms, on average)", 0.0, 1e6, 1.0, key="opt.db.min_mean_ms")
    if st.button("Check indexes", key="opt.db.check", icon=":material/database:"):
        try:
            with st.spinner("Reading pg_stat_statements and planning each candidate with HypoPG…"):
                rows = db.advise(source, IndexAdviceSettings(min_mean_ms=min_mean))
        except PulseError as exc:
            st.error(f"Cannot check {md_text(source)}: {md_text(exc)}", icon=":material/error:")
            return
        st.session_state[RESULT] = (source, rows)
    done = st.session_state.get(RESULT)
    if done is None or done[0] != source:
        st.caption("Reads the slowest statements and checks candidate indexes without creating any.")
        return
    rows: pl.DataFrame = done[1]
    ok = rows.filter(pl.col("status") == "ok") if not rows.is_empty() else rows
    st.metric(
        "Indexes recommended", ok.height, help=f"of {rows.height} slow statement(s) examined", border=True
    )
    if rows.is_empty():
        st.success("No statement is slow enough to examine.", icon=":material/check_circle:")
        return
    render.table(
        rows.select([c for c in SHOWN if c in rows.columns]), rows, "optimization-database", tr, COLUMNS
    )
