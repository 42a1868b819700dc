"""The signed-in user's box in the sidebar: name, role, teams and the sign-out button; and the
warning for a user in no team yet (whose dashboards would otherwise look empty for no reason)."""

from __future__ import annotations

import streamlit as st

from core.access import policy as auth
from core.kernel.text import md_text
from core.seam.signin import SignIn as Accounts
from pages import _keys as K
from pages._signed_session import provider_signed_in, signed_out


def user_box(accounts: Accounts, who: auth.Principal) -> None:
    """Who is signed in and with which scope; signing out ends the server-side session too."""
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
                accounts.sign_out(session_id)
            signed_out("You are signed out.")
            if provider_signed_in():
                # single sign-on: st.logout drops Streamlit's identity cookie and sends the browser to
                # the provider's end-session page. Its redirect waits in the outgoing queue, which a
                # rerun would clear before it is sent (seen under load), so this run just ends.
                st.logout()
                st.stop()
            st.rerun()
    if scope is not None and not scope:
        st.warning(
            "You are not a member of any team yet, so the dashboards show no data. "
            f"Ask an admin to run `pulse users update {who.username} --team TEAM`.",
            icon=":material/group_off:",
        )
