"""The browser's sign-in cookie: a random token, written and deleted by a small script.

Streamlit cannot set cookies from the server, so a write is an ``st.html`` script queued in session
state and played on this run and the next (a rerun may cut the first short). The cookie is
``SameSite=Strict``, ``Secure`` over https and not HttpOnly (a script writes it); its max-age is
the idle timeout. The scripts run in a container taken out of the page flow, so they leave no gap.
"""

from __future__ import annotations

import json

import streamlit as st

from pages import _keys as K

PLUMBING = "pulse-auth-plumbing"  # the container of the cookie scripts
# Take the cookie scripts out of the page flow, so they leave no gap above the page; they still run.
PLUMBING_CSS = f"""<style>
[data-testid="stLayoutWrapper"]:has(> .st-key-{PLUMBING}), .st-key-{PLUMBING} {{
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
}}
</style>"""
COOKIE_RUNS = 2  # a cookie write is repeated on the next run, in case a rerun cut the first one short


def cookie_later(value: tuple[str, int] | None) -> None:
    """Queue a cookie write (token, max-age) or delete (None) for this run and the next."""
    st.session_state[K.AUTH_COOKIE] = (value, COOKIE_RUNS)


def play_cookie_scripts(name: str) -> None:
    """Play the queued cookie write of this run, if any, in the hidden plumbing container."""
    st.html(PLUMBING_CSS)
    with st.container(key=PLUMBING):
        _cookie_work(name)


def _cookie_work(name: str) -> None:
    work = st.session_state.get(K.AUTH_COOKIE)
    if work is None:
        return
    value, runs = work
    if runs <= 1:
        st.session_state.pop(K.AUTH_COOKIE)
    else:
        st.session_state[K.AUTH_COOKIE] = (value, runs - 1)
    token, max_age = value if value else ("", 0)
    cookie = json.dumps(f"{name}={token}; Max-Age={max_age}; Path=/; SameSite=Strict")
    script = (
        f"<script>document.cookie = {cookie} + "
        '(window.location.protocol === "https:" ? "; Secure" : "");</script>'
    )
    st.html(script, unsafe_allow_javascript=True)
