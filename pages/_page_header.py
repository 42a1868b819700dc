"""The top of every page: it runs inside app.py's navigation, the signed-in user may open it, and
its title; otherwise a message and stop."""

from __future__ import annotations

import streamlit as st

from core.access import policy as auth
from pages._seam import principal


def no_access(who: auth.Principal, title: str) -> None:
    """Refuse a page the user's role may not open, naming the role and who can help."""
    st.error(
        f"{who.label} ({who.role.label}) may not open {title}. Ask an admin if you need it.",
        icon=":material/block:",
    )
    st.stop()


def page_header(title: str, page: str) -> None:
    """The page title, after making sure the page runs inside app.py's navigation and that the
    signed-in user may open ``page`` (its URL path); otherwise a message and stop.

    ``pages/`` is also Streamlit's legacy pages folder: in a fresh server process, until app.py has
    called ``st.navigation`` once, a deep link such as ``/performance`` runs the page file alone
    (no page config, every file of ``pages/`` listed as a page). Leave that mode and rerun, which
    runs app.py and lands on the same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - internal module moved
        PagesManager = None  # type: ignore[assignment,misc]  # noqa: N806
    if PagesManager is not None and getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
    who = principal()
    if not auth.may(who, page=page):
        no_access(who, title)
    st.title(title)
