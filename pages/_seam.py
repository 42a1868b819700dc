"""The seam for this run: the process-wide store, the signed-in user and their team-scoped console.

Every read and action of a page runs as the signed-in user through ``core.seam.Console``, got from
:func:`console`; scoping is enforced there, never page by page. Streamlit's resource caching of
the backend stays here, in the page layer.
"""

from __future__ import annotations

import streamlit as st

from core.access import policy as auth
from core.kernel.errors import PulseError
from core.kernel.settings import Settings
from core.kernel.settings.current import current_settings
from core.kernel.text import md_text
from core.seam import Backend, Console, open_backend
from pages import _keys as K


@st.cache_resource(show_spinner="Opening the metrics store…")
def _open_backend(url: str, _settings: Settings) -> Backend:
    return open_backend(_settings)


@st.cache_resource(show_spinner=False)
def _own_figures(url: str, _backend: Backend) -> object:
    """Once per process and database: this process records its own CPU and memory (self-monitoring)."""
    return _backend.record_own_figures()


def shared() -> Backend:
    """The process-wide backend of the configured database, also outside a page run (the
    ``/media/`` guard asks it who a cookie signs in); PulseError when the store cannot be opened."""
    settings = current_settings()  # built again only when the variables or the file changed
    return _open_backend(settings.url, settings)


def backend() -> Backend:
    """The process-wide backend of the configured database (one per URL), or a message and stop."""
    try:
        b = shared()
        _own_figures(b.url, b)
        return b
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
