"""Admin: users, teams and roles. List, add, disable or enable, reset a password, change role and teams.

Thin: every read and change goes through ``console.admin`` (which requires ``manage_users`` and
writes the audit entry in the change's transaction); the forms are in ``pages/_admin_user_forms.py``.
A generated password is shown once, here, and never again; a password typed by the admin is never
shown back.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from core.kernel.errors import PulseError
from core.kernel.text import md_text
from pages import _common as ui
from pages import _render as render
from pages._admin_change import flash
from pages._admin_user_forms import add_user, change_user

ui.page_header("Users and roles", "admin_users")
admin = ui.console().admin
DT = st.column_config.DatetimeColumn
COLUMNS: dict[str, Any] = {
    "username": "Username",
    "name": "Name",
    "email": "Email",
    "role": "Role",
    "teams": "Teams",
    "status": "Status",
    "last_sign_in": "Last sign-in (UTC)",
    "created": DT("Created (UTC)", format="YYYY-MM-DD"),
}


def body() -> None:
    try:
        users = admin.users()
        teams = admin.known_teams()
    except PulseError as exc:
        st.warning(f"The users could not be read: {md_text(exc)}", icon=":material/sync_problem:")
        return
    flash()
    signed = pl.col("last_sign_in").dt.strftime("%Y-%m-%d %H:%M").fill_null("never")
    render.grid(users.with_columns(signed), COLUMNS)
    add_user(admin, teams)
    change_user(admin, users["username"].to_list(), teams)
    st.caption("Every change here is written to the audit log (Admin › Audit log).")


body()
