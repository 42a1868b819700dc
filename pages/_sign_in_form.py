"""The sign-in screen: the username and password form, the identity provider's button under it
when single sign-on is on, and a hidden chart that warms plotly up while the user types."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.settings.oidc import OidcSettings
from core.kernel.text import md_text
from core.seam.signin import Signed
from core.seam.signin import SignIn as Accounts
from pages import _keys as K
from pages._seam import backend
from pages._signed_session import client, keep

FORM_KEY = "pulse.sign_in"


def sign_in_screen(accounts: Accounts) -> None:
    """The form; a successful sign-in keeps the session and reruns to build this user's navigation."""
    _, middle, _ = st.columns([1, 1.2, 1])
    with middle:
        st.title("MCP Pulse")
        st.caption("Monitoring of the MCP Debug Host Platform. Sign in to continue.")
        notice = st.session_state.pop(K.AUTH_NOTICE, None)
        if notice:
            st.info(notice, icon=":material/info:")
        with st.form(FORM_KEY, clear_on_submit=True):  # the password does not stay in the page
            st.subheader("Sign in")
            username = st.text_input("Username", key=K.W_USERNAME, autocomplete="username")
            password = st.text_input(
                "Password", type="password", key=K.W_PASSWORD, autocomplete="current-password"
            )
            pressed = st.form_submit_button("Sign in", type="primary")
        if pressed:
            try:
                attempt = accounts.attempt(username, password, client())
            except PulseError as exc:
                st.error(f"Cannot sign in now: {md_text(exc)}", icon=":material/error:")
                return
            if attempt.live is not None and attempt.principal is not None:
                st.session_state.pop(K.AUTH_NOTICE, None)
                keep(accounts, Signed(attempt.live, attempt.principal))
                st.rerun()  # build the navigation for this user
            st.error(attempt.message, icon=":material/error:")
        oidc = backend().effective().auth.oidc
        if oidc.enabled:
            _single_sign_on(oidc)
        _preload_chart_library()


def _single_sign_on(oidc: OidcSettings) -> None:
    """The provider's button under the form, or why its identity was refused."""
    refused = st.session_state.get(K.SSO_REFUSED)
    if refused:
        st.error(md_text(refused), icon=":material/block:")
        if st.button("Sign out of the identity provider", icon=":material/logout:", width="stretch"):
            st.logout()
        return
    if st.button(oidc.button_label, icon=":material/key:", width="stretch", key=K.W_SSO):
        if oidc.provider:
            st.login(oidc.provider)
        else:
            st.login()


def _preload_chart_library() -> None:
    """An empty 10-px chart (plotly's least height) holding no data: the browser fetches and
    starts plotly.js while the user types, so the first chart after sign-in need not wait."""
    hidden = {"visible": False}
    layout = {"height": 10, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "xaxis": hidden, "yaxis": hidden}
    fig = go.Figure(layout=layout)
    st.plotly_chart(fig, config={"staticPlot": True, "displayModeBar": False}, key="plotly-preload")
