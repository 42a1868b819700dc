"""Shared UI of the dashboard pages: the store, the signed-in user, cached queries, page setup.

Controls bound to the URL are in ``pages/_controls.py``; tables, charts and downloads in
``pages/_render.py``.

Not a page: app.py lists its pages explicitly, so this module never appears in the navigation.
Canonical choices live in session state (pages._keys) and are mirrored to ``st.query_params``
so a copied link opens the same view; widgets are re-seeded from them on every run.
Every read and action runs as the signed-in user through the seam (``core.seam.Console``, got
from :func:`console`); :func:`query` runs a view function on the user's team-scoped store and keys
its cache by that scope. Streamlit caching stays here, in the page layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import streamlit as st

from core.access import policy as auth
from core.kernel.errors import PulseError
from core.kernel.settings import Settings, load_settings
from core.kernel.text import md_text
from core.seam import Backend, Console, open_backend
from pages import _keys as K

T = TypeVar("T")
EMPTY_HINT = "No data yet: run `pulse demo --days 7` or start `pulse collect`, then reload this page."
QUERY_TTL_S, QUERY_MAX_ENTRIES = 30, 256
EMPTY_TTL_S = 5  # a store that was empty a moment ago may have been filled by `pulse demo`


# -- the seam and cached reads ----------------------------------------------------------------
@st.cache_resource(show_spinner="Opening the metrics store…")
def _open_backend(url: str, _settings: Settings) -> Backend:
    return open_backend(_settings)


def backend() -> Backend:
    """The process-wide backend of the configured database (one per URL), or a message and stop."""
    try:
        settings = load_settings()
        return _open_backend(settings.url, settings)
    except PulseError as exc:
        st.error(f"Cannot open the metrics store: {md_text(exc)}", icon=":material/error:")
        st.stop()


def principal() -> auth.Principal:
    """The signed-in user of this run (set by app.py's gate), or a message and stop."""
    who: auth.Principal | None = st.session_state.get(K.PRINCIPAL)
    if who is None:
        st.warning("Sign in to see this page.", icon=":material/login:")
        st.stop()
    return who


def console() -> Console:
    """The seam for the signed-in user: every read and action of a page goes through it."""
    return backend().console(principal())


@st.cache_data(ttl=QUERY_TTL_S, max_entries=QUERY_MAX_ENTRIES, show_spinner=False)
def _cached(
    name: str, key: tuple[Any, ...], args: tuple[Any, ...], _fn: Callable[..., Any], _c: Console
) -> Any:
    return _c.read(_fn, *args)


def query(fn: Callable[..., T], *args: Any) -> T:
    """``fn(reader, *args)`` on the store narrowed to the user's teams, cached per database and
    team scope for QUERY_TTL_S; storage errors end the run politely."""
    c = console()
    try:
        result: T = _cached(f"{fn.__module__}.{fn.__qualname__}", c.cache_key, args, fn, c)
    except PulseError as exc:
        st.warning(
            f"The metrics store did not answer: {md_text(exc)}. The page retries on its next refresh.",
            icon=":material/sync_problem:",
        )
        st.stop()
    return result


@st.cache_data(ttl=EMPTY_TTL_S, max_entries=8, show_spinner=False)
def _metric_names(url: str, _backend: Backend) -> list[str]:
    return _backend.metric_names()


def has_data(metrics: Sequence[str], what: str) -> bool:
    """Whether any of ``metrics`` has ever been stored; if not, an empty state that says what to do."""
    b = backend()
    try:
        names = set(_metric_names(b.url, b))
    except PulseError as exc:
        st.warning(f"The metrics store did not answer: {md_text(exc)}", icon=":material/sync_problem:")
        return False
    if not names:
        st.info(EMPTY_HINT, icon=":material/database:")
        return False
    if not names.intersection(metrics):
        st.info(f"No {what} recorded yet. {EMPTY_HINT}", icon=":material/database:")
        return False
    return True


def require_data(metrics: Sequence[str], what: str) -> None:
    """Stop with an empty state that says what to do when none of ``metrics`` has ever been stored."""
    if not has_data(metrics, what):
        st.stop()


@st.cache_data(ttl=5, max_entries=16, show_spinner=False)
def _alert_counts(key: tuple[Any, ...], bucket: int, _c: Console) -> dict[str, int]:
    return _c.alerts.counts()


def alert_counts() -> dict[str, int]:
    """Firing, pending and muted alerts the signed-in user may see (cached 5 s)."""
    c = console()
    return _alert_counts(c.cache_key, c.now_ms() // 5000, c)


# -- page setup ---------------------------------------------------------------------------------
def no_access(who: auth.Principal, title: str) -> None:
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
