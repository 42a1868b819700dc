"""Who this browser session is signed in as: resumed from the session id it keeps, restored from
the cookie's token, or taken from the identity provider (single sign-on); and the session's end.

The rules (passwords, sessions, the throttle) are behind the seam, ``core.seam.signin``; this
module only keeps the session id in ``st.session_state`` and queues the cookie writes.
"""

from __future__ import annotations

import secrets

import streamlit as st

from core.kernel.errors import AuthError
from core.seam import Backend
from core.seam.signin import Signed
from core.seam.signin import SignIn as Accounts
from pages import _keys as K
from pages._seam import backend
from pages._session_cookie import cookie_later


@st.cache_resource(show_spinner=False)
def first_run(url: str, _backend: Backend) -> bool:
    """Once per process and database: the first admin, old sessions purged."""
    _backend.signin.first_run()
    return True


def client() -> str:
    """Who is signing in, for the throttle and the log: the last X-Forwarded-For entry when the
    settings trust the proxy that adds it, else the connection's address, else (on localhost,
    where Streamlit gives none) this browser session."""
    if backend().effective().auth.trust_forwarded_for:
        forwarded = st.context.headers.get("X-Forwarded-For")
        last = forwarded.split(",")[-1].strip() if isinstance(forwarded, str) else ""
        if last:
            return f"ip:{last[:100]}"
    address = st.context.ip_address
    if isinstance(address, str) and address:  # None on localhost (and a stand-in under AppTest)
        return f"ip:{address}"
    if K.CLIENT not in st.session_state:
        st.session_state[K.CLIENT] = secrets.token_hex(8)
    return f"session:{st.session_state[K.CLIENT]}"


def current(accounts: Accounts) -> Signed | None:
    """The session this browser session holds, or the one its cookie names (tried once per token)."""
    session_id = st.session_state.get(K.SESSION)
    if session_id is not None:
        signed = accounts.resume(session_id)
        if signed is None:
            signed_out("Your session ended: it expired, was signed out elsewhere or your account changed.")
            return None
    else:
        token = st.context.cookies.get(accounts.settings.cookie_name)
        if not isinstance(token, str) or not token or token == st.session_state.get(K.COOKIE_TRIED):
            return None
        st.session_state[K.COOKIE_TRIED] = token  # one try per token and browser session
        signed = accounts.restore(token)
        if signed is None:
            cookie_later(None)
            return None
    keep(accounts, signed)
    return signed


def from_provider(accounts: Accounts) -> Signed | None:
    """Single sign-on: the identity Streamlit's ``st.login`` holds (``st.user``, read from its own
    signed cookie at the start of a browser session) becomes a Pulse session like a password
    sign-in's. A refused identity is tried once per browser session; the sign-in screen says why."""
    if not provider_signed_in() or st.session_state.get(K.SSO_REFUSED):
        return None
    try:
        attempt = accounts.single_sign_on(st.user.to_dict(), client())
    except AuthError as exc:
        st.session_state[K.SSO_REFUSED] = f"Single sign-on refused: {exc}"
        return None
    assert attempt.live is not None and attempt.principal is not None
    signed = Signed(attempt.live, attempt.principal)
    keep(accounts, signed)
    return signed


def provider_signed_in() -> bool:
    """Whether Streamlit holds an identity from ``st.login`` (``st.user`` lacks the key when single
    sign-on is not configured)."""
    return bool(st.user.get("is_logged_in", False))


def keep(accounts: Accounts, signed: Signed) -> None:
    """Hold the session's id in this browser session; a new or rotated token goes to the cookie."""
    st.session_state[K.SESSION] = signed.live.session.id
    if signed.live.token:  # new or rotated: the browser must get it
        cookie_later((signed.live.token, accounts.cookie_max_age_s(signed.live.session)))


def signed_out(notice: str) -> None:
    """Forget the session here and in the browser; the sign-in screen shows ``notice``."""
    st.session_state.pop(K.SESSION, None)
    st.session_state.pop(K.PRINCIPAL, None)
    st.session_state[K.AUTH_NOTICE] = notice
    cookie_later(None)
