"""Sign-in for the dashboard: our own form, server-side sessions and a token cookie.

Not a page. ``app.py`` calls :func:`begin` before ``st.navigation`` (it never stops: it resumes
this browser session's sign-in, or restores one from the cookie, so the navigation lists only the
pages the user may open), then :func:`gate` after it (the sign-in form and a stop, or the user
box, the sign-out button and the page check). Deep links survive sign-in because the navigation
is built before the gate stops the run.

This module and its parts are the only ones that know Streamlit's side of sign-in; the rules are
behind the seam (``core.seam.signin``: passwords, sessions, the throttle). The parts:
``_signed_session`` (resume, restore, single sign-on, sign-out), ``_session_cookie`` (the token
cookie, written by a script), ``_sign_in_form`` (the form) and ``_user_box`` (the sidebar box).
The session lives in the database; this browser session keeps its id, and the browser a cookie
with a random token. See docs/security.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.access import policy as auth
from core.kernel.errors import PulseError
from core.kernel.text import md_text
from core.seam.signin import SignIn as Accounts
from pages import _keys as K
from pages._page_header import no_access
from pages._seam import backend
from pages._session_cookie import play_cookie_scripts
from pages._sign_in_form import sign_in_screen
from pages._signed_session import current, first_run, from_provider
from pages._user_box import user_box


@dataclass
class SignIn:
    accounts: Accounts
    principal: auth.Principal | None


def begin() -> SignIn:
    """Resume or restore the sign-in of this browser session and say who it is; never stops."""
    b = backend()
    accounts = b.signin
    try:
        first_run(b.url, b)
        signed = current(accounts)
        if signed is None and accounts.settings.oidc.enabled:
            signed = from_provider(accounts)
    except PulseError as exc:
        st.error(f"Cannot start the sign-in: {md_text(exc)}", icon=":material/error:")
        st.stop()
    play_cookie_scripts(b.settings.auth.cookie_name)
    if signed is None:
        st.session_state.pop(K.PRINCIPAL, None)
        return SignIn(accounts, None)
    st.session_state[K.PRINCIPAL] = signed.principal
    return SignIn(accounts, signed.principal)


def page(
    who: auth.Principal | None,
    path: str,
    *,
    title: str,
    icon: str,
    url_path: str,
    default: bool = False,
    alias: bool = False,
) -> Any:
    """An ``st.Page`` that the navigation lists only when ``who`` may open it.

    A page they may not open stays reachable by its URL, hidden, so a deep link gets the gate's
    "no access" message instead of silently landing elsewhere. ``alias``: the same page once more,
    never listed, under its own name: Streamlit serves the default page at "/" only, so a typed
    ``/health`` needs a second page with that path (the default one is then keyed "home").
    """
    shown = not alias and (who is None or auth.may(who, page=url_path))
    made = st.Page(
        path,
        title=title,
        icon=icon,
        url_path="home" if default else url_path,
        default=default,
        visibility="visible" if shown else "hidden",
    )
    made.pulse_page = url_path  # type: ignore[attr-defined]  # the default page's url_path reads ""
    return made


def gate(signin: SignIn, current_page: Any) -> auth.Principal:
    """After ``st.navigation``: the sign-in form (and stop), or the user box and the page check."""
    who = signin.principal
    if who is None:
        sign_in_screen(signin.accounts)
        st.stop()
    user_box(signin.accounts, who)
    if not auth.may(who, page=getattr(current_page, "pulse_page", current_page.url_path)):
        no_access(who, current_page.title)
    return who
