"""MCP Pulse: the Streamlit entry point. Wires sign-in, the page navigation and the store; collects nothing.

Collection, rollups and retention run in the separate daemon (``pulse collect``); this process
only reads. Pages are listed explicitly, so helpers such as ``pages/_common.py`` never become pages.

Order matters: who is signed in is known (from the session or the cookie) before the navigation
is built, so it lists only the pages that user may open; the gate that shows the sign-in form and
stops comes after ``st.navigation``, so a deep link such as ``/performance`` survives signing in.

This file is also the server's entry point: ``streamlit run app.py`` finds the ``st.App`` at the
bottom (Streamlit's official way to add middleware) and serves it, with ``pages/_media_guard.py``
in front of Streamlit's routes, so files under ``/media/`` go only to signed-in sessions. Every
launch (``pulse up``, the systemd unit, the tests) runs ``streamlit run app.py``; a run that came
by another way stops with the reason.
"""

from __future__ import annotations

import gc

import streamlit as st
from starlette.middleware import Middleware

from core.access.policy import Principal
from pages import _media_guard as media_guard

# The page modules are imported inside the functions: the server imports this module before
# Streamlit's runtime exists, and their caches must be declared within it.


def pages(who: Principal | None) -> dict[str, list[st.Page]]:
    from pages import _auth

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
                "pages/health.py",
                title="Health",
                icon=":material/monitor_heart:",
                url_path="health",
                alias=True,
            ),
            _auth.page(
                who,
                "pages/performance.py",
                title="Performance",
                icon=":material/speed:",
                url_path="performance",
            ),
            _auth.page(
                who,
                "pages/alerts.py",
                title="Alerts",
                icon=":material/notifications_active:",
                url_path="alerts",
            ),
            _auth.page(
                who,
                "pages/incidents.py",
                title="Incidents",
                icon=":material/emergency:",
                url_path="incidents",
            ),
        ],
        "Plan": [
            _auth.page(
                who,
                "pages/optimization.py",
                title="Optimization",
                icon=":material/savings:",
                url_path="optimization",
            ),
            _auth.page(
                who,
                "pages/capacity.py",
                title="Capacity",
                icon=":material/query_stats:",
                url_path="capacity",
            ),
            _auth.page(who, "pages/usage.py", title="Usage", icon=":material/groups:", url_path="usage"),
        ],
        "Admin": [  # admins only: listed for them, hidden (reachable, refused by the gate) for others
            _auth.page(
                who,
                "pages/admin_users.py",
                title="Users and roles",
                icon=":material/manage_accounts:",
                url_path="admin_users",
            ),
            _auth.page(
                who,
                "pages/admin_audit.py",
                title="Audit log",
                icon=":material/history:",
                url_path="admin_audit",
            ),
            _auth.page(
                who,
                "pages/admin_rules.py",
                title="Alert rules",
                icon=":material/rule:",
                url_path="admin_rules",
            ),
            _auth.page(
                who,
                "pages/admin_settings.py",
                title="Settings",
                icon=":material/tune:",
                url_path="admin_settings",
            ),
            _auth.page(
                who,
                "pages/admin_self.py",
                title="Self-monitoring",
                icon=":material/troubleshoot:",
                url_path="admin_self",
            ),
        ],
    }


@st.cache_resource(show_spinner=False)
def _freeze_heap() -> int:
    """Once per process: move the objects alive after the imports into the permanent generation.

    Streamlit runs a full ``gc.collect(2)`` after every script run, also between a run stopped by
    ``st.rerun`` and the next one; with the ~200k objects of plotly, polars, pandas and Streamlit
    on the heap that took 0.2-0.4 s here on each run (the one after sign-in included). Frozen
    objects are never scanned again, so those collections cost milliseconds; objects made later
    are collected as usual. Collecting first leaves no garbage in the frozen set.
    """
    import pandas.io.formats.style  # noqa: F401  # the status tables' Styler, imported lazily otherwise

    import core.charts  # noqa: F401  # the pages' figures and views, so their modules are frozen too
    import core.views.health  # noqa: F401
    import core.views.performance  # noqa: F401

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def main() -> None:
    """One run of the dashboard's script (every click)."""
    st.set_page_config(
        page_title="MCP Pulse",
        page_icon=":material/monitor_heart:",
        layout="wide",
        initial_sidebar_state="expanded",
    )
    from pages import _auth
    from pages import _common as ui

    media_guard.require()  # a run that did not come through the st.App below stops here
    _freeze_heap()
    ui.backend()  # open (and migrate) the store once per process; a failure stops with advice
    signin = _auth.begin()  # never stops for a missing sign-in
    page = st.navigation(pages(signin.principal), position="sidebar" if signin.principal else "hidden")
    _auth.gate(signin, page)  # the sign-in form and a stop, or the user box and the page check
    page.run()


if __name__ == "__main__":  # Streamlit runs this file as the script of every page run
    main()
else:  # `streamlit run app.py` finds this st.App and serves it (uvicorn imports this module as `app`)
    from core.kernel.malloc import share_arenas

    share_arenas()  # before the sessions' threads: they share two malloc arenas (core/kernel/malloc.py)
    app = st.App(__file__, middleware=[Middleware(media_guard.MediaGuard)])
