"""MCP Pulse: the Streamlit entry point. Wires the page navigation and the store; collects nothing.

Collection, rollups and retention run in the separate daemon (``pulse collect``); this process
only reads. Pages are listed explicitly, so helpers such as ``pages/_common.py`` never become pages.
"""

from __future__ import annotations

import streamlit as st

from pages import _common as ui

st.set_page_config(
    page_title="MCP Pulse",
    page_icon=":material/monitor_heart:",
    layout="wide",
    initial_sidebar_state="expanded",
)

PAGES = {
    "Monitor": [
        st.Page(
            "pages/health.py",
            title="Health",
            icon=":material/monitor_heart:",
            url_path="health",
            default=True,
        ),
        st.Page("pages/performance.py", title="Performance", icon=":material/speed:", url_path="performance"),
    ],
}

page = st.navigation(PAGES)
ui.get_store()  # open (and migrate) the store once per process; a failure stops with advice
page.run()
