"""MCP Pulse: the Streamlit entry point. Wires sign-in, the page navigation and the store; collects nothing.

Collection, rollups and retention run in the separate daemon (``pulse collect``); this process
only reads. Pages are listed explicitly, so helpers such as ``pages/_common.py`` never become pages.

Order matters: who is signed in is known (from the session or the cookie) before the navigation
is built, so it lists only the pages that user may open; the gate that shows the sign-in form and
stops comes after ``st.navigation``, so a deep link such as ``/performance`` survives signing in.
"""

from __future__ import annotations

import streamlit as st

from core.auth import Principal
from pages import _auth
from pages import _common as ui

st.set_page_config(
    page_title="MCP Pulse",
    page_icon=":material/monitor_heart:",
    layout="wide",
    initial_sidebar_state="expanded",
)


def pages(who: Principal | None) -> dict[str, list[st.Page]]:
    return {
        "Monitor": [
            _auth.page(
                who,
                "pages/health.py",
                title="Health",
                icon=":material/monitor_heart:",
                url_path="health",
                default=True,
            ),
            _auth.page(
                who,
                "pages/performance.py",
                title="Performance",
                icon=":material/speed:",
                url_path="performance",
            ),
        ],
    }


ui.get_store()  # open (and migrate) the store once per process; a failure stops with advice
signin = _auth.begin()  # never stops for a missing sign-in
page = st.navigation(pages(signin.principal), position="sidebar" if signin.principal else "hidden")
_auth.gate(signin, page)  # the sign-in form and a stop, or the user box and the page check
page.run()
