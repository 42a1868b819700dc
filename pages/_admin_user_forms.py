"""The forms of Admin › Users and roles: add a user, and change one (role and teams, password,
enabled or disabled). Every change goes through the seam's ``Admin`` (which requires
``manage_users`` and writes the audit entry) via :func:`pages._admin_change.act`."""

from __future__ import annotations

import streamlit as st

from core.kernel.text import md_text
from core.seam.admin import Admin
from pages import _keys as K
from pages._admin_change import act

FIELDS = {"username": "Username", "role": "Role", "teams": "Teams", "password": "Password"}
FIELDS |= {"display_name": "Display name", "email": "Email"}
NEW_USER_KEYS = (K.W_NEW_USERNAME, K.W_NEW_NAME, K.W_NEW_EMAIL, K.W_NEW_TEAMS, K.W_NEW_PASSWORD)


def add_user(admin: Admin, teams: list[str]) -> None:
    """A new user; without a typed password one is generated and shown once."""
    for key in st.session_state.pop(K.ADMIN_RESET, ()):
        st.session_state[key] = [] if key == K.W_NEW_TEAMS else ""
    st.subheader("Add a user")
    with st.form("admin.add", border=True):
        left, right = st.columns(2)
        username = left.text_input("Username", key=K.W_NEW_USERNAME, placeholder="ada")
        name = right.text_input("Display name", key=K.W_NEW_NAME)
        email = left.text_input("Email", key=K.W_NEW_EMAIL)
        role = right.selectbox("Role", admin.roles(), index=3, key=K.W_NEW_ROLE)
        picked = st.multiselect("Teams", teams, key=K.W_NEW_TEAMS, accept_new_options=True)
        password = st.text_input(
            "Password", type="password", key=K.W_NEW_PASSWORD, help="Leave empty to generate one, shown once"
        )
        if st.form_submit_button("Add user", type="primary", icon=":material/person_add:"):

            def create() -> None:
                made = admin.create_user(username, role, picked, name, email, password or None)
                if made.password:
                    st.session_state[K.ADMIN_SECRET] = (made.user.username, made.password)

            act(f"Added {username.strip().lower()} ({role}).", create, NEW_USER_KEYS, FIELDS)


def change_user(admin: Admin, users: list[str], teams: list[str]) -> None:
    """One user picked from the list: role and teams, a password reset, disable or enable."""
    st.subheader("Change a user")
    who = st.selectbox("User", users, key=K.W_ADMIN_USER)
    if who is None:
        return
    user = admin.user(who)
    st.caption(f"{md_text(user.username)} · {user.role} · {'disabled' if user.disabled else 'active'}")
    access, password, status = st.columns(3)
    with access.form("admin.access", border=True):
        roles = admin.roles()
        role = st.selectbox("Role", roles, index=roles.index(user.role) if user.role in roles else None)
        options = sorted({*teams, *user.teams})
        member = st.multiselect("Teams", options, default=list(user.teams), accept_new_options=True)
        if st.form_submit_button("Save role and teams", icon=":material/group:"):
            act(
                f"Saved the role and teams of {who}; their sessions ended.",
                lambda: admin.set_access(who, role, member),
                labels=FIELDS,
            )
    with password.form("admin.password", border=True, clear_on_submit=True):
        new = st.text_input(
            "New password", type="password", key=K.W_RESET_PASSWORD, help="Leave empty to generate one"
        )
        if st.form_submit_button("Reset password", icon=":material/password:"):

            def reset() -> None:
                generated = admin.reset_password(who, new or None)
                if generated:
                    st.session_state[K.ADMIN_SECRET] = (who, generated)

            act(f"Reset the password of {who}; their sessions ended.", reset, labels=FIELDS)
    with status.container(border=True):
        if user.disabled:
            if st.button("Enable", icon=":material/person_check:"):
                act(f"Enabled {who}.", lambda: admin.set_disabled(who, False), labels=FIELDS)
        elif st.button("Disable", icon=":material/person_off:", type="primary"):
            act(
                f"Disabled {who}: they cannot sign in, their sessions ended.",
                lambda: admin.set_disabled(who, True),
                labels=FIELDS,
            )
        st.caption("A disabled user keeps their data and can be enabled again.")
