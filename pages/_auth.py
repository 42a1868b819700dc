"""Sign-in for the dashboard: our own form, server-side sessions and a token cookie.

Not a page. ``app.py`` calls :func:`begin` before ``st.navigation`` (it never stops: it resumes
this browser session's sign-in, or restores one from the cookie, so the navigation lists only the
pages the user may open), then :func:`gate` after it (the sign-in form and a stop, or the user
box, the sign-out button and the page check). Deep links survive sign-in because the navigation
is built before the gate stops the run.

This is the only module that knows Streamlit's side of sign-in; the rules are behind the seam
(``core.seam.signin``: passwords, sessions, the throttle). The session lives in the database;
this browser session keeps its id, and the browser a cookie with a random token, read from the
request (``st.context.cookies``) and written by a script (``st.html``), since Streamlit cannot set
cookies from the server: ``SameSite=Strict``, ``Secure`` over https, not HttpOnly (a script
writes it), as long-lived as the idle timeout and replaced on renewal. See docs/security.md.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from core.access import policy as auth
from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.seam import Backend
from core.seam.signin import Signed
from core.seam.signin import SignIn as Accounts
from pages import _common as ui
from pages import _keys as K

FORM_KEY = "pulse.sign_in"
PLUMBING = "pulse-auth-plumbing"  # the container of the cookie scripts
# Take the cookie scripts out of the page flow, so they leave no gap above the page; they still run.
PLUMBING_CSS = f"""<style>
[data-testid="stLayoutWrapper"]:has(> .st-key-{PLUMBING}), .st-key-{PLUMBING} {{
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
}}
</style>"""
COOKIE_RUNS = 2  # a cookie write is repeated on the next run, in case a rerun cut the first one short


@st.cache_resource(show_spinner=False)
def _first_run(url: str, _backend: Backend) -> bool:
    """Once per process and database: the first admin, old sessions purged."""
    _backend.signin.first_run()
    return True


@dataclass
class SignIn:
    accounts: Accounts
    principal: auth.Principal | None


def client() -> str:
    """Who is signing in, for the throttle and the log: the last X-Forwarded-For entry when the
    settings trust the proxy that adds it, else the connection's address, else (on localhost,
    where Streamlit gives none) this browser session."""
    if ui.backend().settings.auth.trust_forwarded_for:
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


def begin() -> SignIn:
    """Resume or restore the sign-in of this browser session and say who it is; never stops."""
    backend = ui.backend()
    accounts = backend.signin
    try:
        _first_run(backend.url, backend)
        signed = _current(accounts)
    except PulseError as exc:
        st.error(f"Cannot start the sign-in: {md_text(exc)}", icon=":material/error:")
        st.stop()
    st.html(PLUMBING_CSS)
    with st.container(key=PLUMBING):
        _cookie_work(backend.settings.auth.cookie_name)
    if signed is None:
        st.session_state.pop(K.PRINCIPAL, None)
        return SignIn(accounts, None)
    st.session_state[K.PRINCIPAL] = signed.principal
    return SignIn(accounts, signed.principal)


def _current(accounts: Accounts) -> Signed | None:
    session_id = st.session_state.get(K.SESSION)
    if session_id is not None:
        signed = accounts.resume(session_id)
        if signed is None:
            _signed_out("Your session ended: it expired, was signed out elsewhere or your account changed.")
            return None
    else:
        token = st.context.cookies.get(accounts.settings.cookie_name)
        if not isinstance(token, str) or not token or token == st.session_state.get(K.COOKIE_TRIED):
            return None
        st.session_state[K.COOKIE_TRIED] = token  # one try per token and browser session
        signed = accounts.restore(token)
        if signed is None:
            _cookie_later(None)
            return None
    _keep(accounts, signed)
    return signed


def _keep(accounts: Accounts, signed: Signed) -> None:
    st.session_state[K.SESSION] = signed.live.session.id
    if signed.live.token:  # new or rotated: the browser must get it
        _cookie_later((signed.live.token, accounts.cookie_max_age_s(signed.live.session)))


def _cookie_later(value: tuple[str, int] | None) -> None:
    """Queue a cookie write (token, max-age) or delete (None) for this run and the next."""
    st.session_state[K.AUTH_COOKIE] = (value, COOKIE_RUNS)


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


def _signed_out(notice: str) -> None:
    st.session_state.pop(K.SESSION, None)
    st.session_state.pop(K.PRINCIPAL, None)
    st.session_state[K.AUTH_NOTICE] = notice
    _cookie_later(None)


def page(
    who: auth.Principal | None, path: str, *, title: str, icon: str, url_path: str, default: bool = False
) -> Any:
    """An ``st.Page`` that the navigation lists only when ``who`` may open it.

    A page they may not open stays reachable by its URL, hidden, so a deep link gets the gate's
    "no access" message instead of silently landing elsewhere.
    """
    shown = who is None or auth.may(who, page=url_path)
    made = st.Page(
        path,
        title=title,
        icon=icon,
        url_path=url_path,
        default=default,
        visibility="visible" if shown else "hidden",
    )
    made.pulse_page = url_path  # type: ignore[attr-defined]  # the default page's url_path reads ""
    return made


def gate(signin: SignIn, current: Any) -> auth.Principal:
    """After ``st.navigation``: the sign-in form (and stop), or the user box and the page check."""
    who = signin.principal
    if who is None:
        _sign_in_screen(signin)
        st.stop()
    _user_box(signin, who)
    if not auth.may(who, page=getattr(current, "pulse_page", current.url_path)):
        ui.no_access(who, current.title)
    return who


def _sign_in_screen(signin: SignIn) -> None:
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
                attempt = signin.accounts.attempt(username, password, client())
            except PulseError as exc:
                st.error(f"Cannot sign in now: {md_text(exc)}", icon=":material/error:")
                return
            if attempt.live is not None and attempt.principal is not None:
                st.session_state.pop(K.AUTH_NOTICE, None)
                _keep(signin.accounts, Signed(attempt.live, attempt.principal))
                st.rerun()  # build the navigation for this user
            st.error(attempt.message, icon=":material/error:")
        _preload_chart_library()


def _preload_chart_library() -> None:
    """An empty 10-px chart (plotly's least height) holding no data: the browser fetches and
    starts plotly.js while the user types, so the first chart after sign-in need not wait."""
    hidden = {"visible": False}
    layout = {"height": 10, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "xaxis": hidden, "yaxis": hidden}
    fig = go.Figure(layout=layout)
    st.plotly_chart(fig, config={"staticPlot": True, "displayModeBar": False}, key="plotly-preload")


def _user_box(signin: SignIn, who: auth.Principal) -> None:
    scope = auth.team_scope(who)
    if scope is None:
        teams = "All teams"
    elif scope:
        teams = "Teams: " + ", ".join(sorted(scope))
    else:
        teams = "No team yet"
    with st.sidebar.container(border=True):
        st.markdown(f"**{md_text(who.label)}**  \n{md_text(who.username)} · {who.role.label}")
        st.caption(teams + (" · read-only" if who.role is auth.Role.VIEWER else ""))
        if st.button("Sign out", key=K.W_SIGN_OUT, icon=":material/logout:", width="stretch"):
            session_id = st.session_state.get(K.SESSION)
            if session_id is not None:
                signin.accounts.sign_out(session_id)
            _signed_out("You are signed out.")
            st.rerun()
    if scope is not None and not scope:
        st.warning(
            "You are not a member of any team yet, so the dashboards show no data. "
            f"Ask an admin to run `pulse users update {who.username} --team TEAM`.",
            icon=":material/group_off:",
        )
