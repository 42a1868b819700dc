"""Sign-in for the dashboard: streamlit-authenticator behind a small adapter.

Not a page. ``app.py`` calls :func:`begin` before ``st.navigation`` (it never stops: it restores
a sign-in from the cookie and says who is signed in, so the navigation lists only the pages
they may open), then :func:`gate` after it (the sign-in form and a stop, or the user box, the
sign-out button and the page check). Deep links survive sign-in because the navigation is
built before the gate stops the run.

Who may see what is decided in ``core.access.policy``; every query is narrowed to the user's teams in
``core.views.scope`` (via ``pages._common.query``). Users, hashes and lockouts live in the
database (``core.storage.repos.users``); the cookie key in ``data_dir/cookie_key``. An OIDC adapter
(``st.login``) would replace this module and keep the rest.

streamlit-authenticator 0.4 details this relies on: the credentials dict is rebuilt from the
database on every run; an account the database has locked is handed over with
``failed_login_attempts`` at the limit, so ``login(max_login_attempts=...)`` refuses it before
checking the password; a failed check raises that count in our dict, which is how a failure is
seen and recorded in the database. Cookie writes and deletes are repeated on the run after a
sign-in or sign-out, because the component that performs them must reach the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import streamlit as st
import streamlit_authenticator as stauth

from core.access import accounts
from core.access import policy as auth
from core.kernel.errors import PulseError
from core.kernel.records.users import UserRecord
from core.kernel.text import md_text
from core.seam import Backend
from core.seam.signin import SignIn as Accounts
from pages import _common as ui
from pages import _keys as K

STATUS, USERNAME = "authentication_status", "username"  # streamlit-authenticator's session keys
FIELDS = {"Form name": "Sign in", "Username": "Username", "Password": "Password", "Login": "Sign in"}
FORM_KEY = "pulse.sign_in"
PLUMBING = "pulse-auth-plumbing"  # the container of the invisible cookie components
# Take the cookie components (iframes of height 0) out of the page flow, so they leave no gap
# above the page; they still load and run. A style-only st.html takes no space itself.
PLUMBING_CSS = f"""<style>
[data-testid="stLayoutWrapper"]:has(> .st-key-{PLUMBING}), .st-key-{PLUMBING} {{
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
}}
</style>"""


@st.cache_resource(show_spinner=False)
def _first_run(url: str, _backend: Backend) -> str:
    """Once per process and database: the first admin and the cookie key. Returns the key."""
    return _backend.signin.first_run()


@dataclass
class SignIn:
    authenticator: stauth.Authenticate
    credentials: dict[str, dict[str, Any]]  # username -> the entry streamlit-authenticator sees
    guard: Accounts
    principal: auth.Principal | None


def _entry(user: UserRecord, guard: Accounts) -> dict[str, Any]:
    return {
        "name": user.display_name or user.username,
        "email": user.email,
        "password": user.password_hash,
        "roles": [user.role],
        "failed_login_attempts": guard.attempts_seen(user),
    }


def begin() -> SignIn:
    """Build the authenticator from the database, restore a sign-in from the cookie, say who it is."""
    backend = ui.backend()
    settings = backend.settings
    guard = backend.signin
    try:
        key = _first_run(backend.url, backend)
        users = guard.users()
    except PulseError as exc:
        st.error(f"Cannot start the sign-in: {md_text(exc)}", icon=":material/error:")
        st.stop()
    # the entries are shared with the authenticator, which counts failed checks in them
    credentials = {name: _entry(u, guard) for name, u in users.items() if not u.disabled}
    st.html(PLUMBING_CSS)
    with st.container(key=PLUMBING):
        authenticator = stauth.Authenticate(
            {"usernames": credentials},
            settings.auth.cookie_name,
            key,
            settings.auth.cookie_expiry_days,
            auto_hash=False,
            login_sleep_time=0,  # the cookie is read from the request headers; no need to wait
        )
        _cookie_work(authenticator)
        try:
            authenticator.login(location="unrendered")  # a valid cookie signs the session in
        except stauth.LoginError:  # the cookie of a user since disabled or removed
            authenticator.cookie_controller.delete_cookie()
            st.session_state["logout"] = True  # do not try that cookie again in this session
        principal = _resolve(authenticator, users)
    return SignIn(authenticator, credentials, guard, principal)


def _cookie_work(authenticator: stauth.Authenticate) -> None:
    work = st.session_state.pop(K.AUTH_COOKIE, None)
    if work == "set" and st.session_state.get(STATUS):
        authenticator.cookie_controller.set_cookie()
    elif work == "delete":
        authenticator.cookie_controller.delete_cookie()


def _resolve(authenticator: stauth.Authenticate, users: dict[str, UserRecord]) -> auth.Principal | None:
    """The Principal of this session, read from the database on every run (role and team changes
    apply at once; a disabled user is signed out on their next click)."""
    if not st.session_state.get(STATUS):
        st.session_state.pop(K.PRINCIPAL, None)
        return None
    user = users.get(st.session_state.get(USERNAME) or "")
    try:
        principal = None if user is None or user.disabled else auth.Principal.of(user)
    except PulseError:  # a role the code does not know: no access
        principal = None
    if principal is None:
        _sign_out(authenticator, "Your account is disabled or was removed. Ask an admin.")
        return None
    st.session_state[K.PRINCIPAL] = principal
    return principal


def _sign_out(authenticator: stauth.Authenticate, notice: str) -> None:
    if st.session_state.get(STATUS):
        authenticator.logout(location="unrendered")
    st.session_state.pop(K.PRINCIPAL, None)
    st.session_state[K.AUTH_NOTICE] = notice
    st.session_state[K.AUTH_COOKIE] = "delete"


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
    settings = ui.backend().settings.auth
    _, middle, _ = st.columns([1, 1.2, 1])
    with middle:
        st.title("MCP Pulse")
        st.caption("Monitoring of the MCP Debug Host Platform. Sign in to continue.")
        notice = st.session_state.pop(K.AUTH_NOTICE, None)
        if notice:
            st.info(notice, icon=":material/info:")
        before = {name: c.get("failed_login_attempts", 0) for name, c in signin.credentials.items()}
        try:
            signin.authenticator.login(
                location="main",
                max_login_attempts=settings.lockout_attempts,
                fields=FIELDS,
                key=FORM_KEY,
            )
        except stauth.LoginError:  # the database says this account is locked
            st.error(_locked_text(signin, settings.lockout_minutes), icon=":material/lock_clock:")
            return
        locked_now, counted = 0.0, False
        for name, entry in signin.credentials.items():
            if entry.get("failed_login_attempts", 0) > before.get(name, 0):
                counted = True
                locked_now = signin.guard.record_failure(name)
                if locked_now:
                    until = signin.guard.now_ms() + int(locked_now * 1000)
                    st.session_state[K.AUTH_LOCKED] = (name, until)
        if st.session_state.get(STATUS) is False and not counted:
            accounts.dummy_check()  # an unknown username was not checked: take as long as if it had been
        if st.session_state.get(STATUS):
            signin.guard.record_success(st.session_state[USERNAME])
            st.session_state[K.AUTH_COOKIE] = "set"
            st.rerun()  # build the navigation for this user
        if locked_now:
            st.error(
                f"Too many failed sign-ins: this account is locked for {accounts.minutes(locked_now)}.",
                icon=":material/lock_clock:",
            )
        elif st.session_state.get(STATUS) is False:
            st.error("Wrong username or password.", icon=":material/error:")
        _preload_chart_library()


def _preload_chart_library() -> None:
    """An empty 10-px chart (plotly's least height) holding no data: the browser fetches and
    starts plotly.js while the user types, so the first chart after sign-in need not wait."""
    hidden = {"visible": False}
    layout = {"height": 10, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "xaxis": hidden, "yaxis": hidden}
    fig = go.Figure(layout=layout)
    st.plotly_chart(fig, config={"staticPlot": True, "displayModeBar": False}, key="plotly-preload")


def _locked_text(signin: SignIn, lockout_minutes: int) -> str:
    seen = st.session_state.get(K.AUTH_LOCKED)
    left_s = (seen[1] - signin.guard.now_ms()) / 1000 if seen else 0
    wait = f"in {accounts.minutes(left_s)}" if left_s > 0 else f"in up to {lockout_minutes} minutes"
    return (
        f"This account is locked after too many failed sign-ins. Try again {wait}, "
        "or ask an admin to run `pulse users reset-password`."
    )


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
            _sign_out(signin.authenticator, "You are signed out.")
            st.rerun()
    if scope is not None and not scope:
        st.warning(
            "You are not a member of any team yet, so the dashboards show no data. "
            f"Ask an admin to run `pulse users update {who.username} --team TEAM`.",
            icon=":material/group_off:",
        )
