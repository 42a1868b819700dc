"""AppTest of the admin views (users and roles, audit log): what an admin sees and does, what every
other role is refused, and the seam refusing them too when a page is bypassed."""

from __future__ import annotations

import json

import pytest

from core.access import accounts
from core.access.policy import Principal, Role
from core.kernel.errors import PermissionDenied
from core.kernel.records.audit import AuditEntry, AuditQuery
from core.kernel.settings import load_settings
from core.kernel.text import md_text
from core.seam import open_backend
from core.storage.repos.audit import AuditRepo, write_entry
from core.storage.repos.sessions import SessionRepo, SignInLog
from core.storage.repos.users import UserRepo
from core.storage.tsdb import open_store
from pages import _keys as K
from tests.pages.conftest import AppFactory

USERS_PAGE, AUDIT_PAGE = "pages/admin_users.py", "pages/admin_audit.py"
FORBIDDEN = ("lead", "dev", "viewer")


def entries(url: str, **query: object) -> list:  # type: ignore[type-arg]
    store = open_store(load_settings(database_url=url))
    try:
        return AuditRepo(store.engine).read(AuditQuery(**query))  # type: ignore[arg-type]
    finally:
        store.close()


def user(url: str, name: str):  # type: ignore[no-untyped-def]
    store = open_store(load_settings(database_url=url))
    try:
        return UserRepo(store.engine).get(name)
    finally:
        store.close()


def errors(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.value for e in at.error]


def test_admin_lists_users_with_role_teams_status(app: AppFactory, empty_url: str) -> None:
    store = open_store(load_settings(database_url=empty_url))
    SignInLog(store.engine).record(
        at_ms=1_764_000_000_000, username="dev", known=True, client="c", outcome="ok"
    )
    SignInLog(store.engine).record(
        at_ms=1_764_000_600_000, username="dev", known=True, client="c", outcome="wrong"
    )
    store.close()
    at = app(empty_url, USERS_PAGE)
    assert not at.exception and not errors(at)
    assert at.title[0].value == "Users and roles"
    df = at.dataframe[0].value
    rows = {r["username"]: r for r in df.to_dict("records")}
    assert rows["lead"]["role"] == "team_lead" and rows["lead"]["teams"] == "platform"
    assert rows["viewer"]["teams"] == "(all)" and rows["newbie"]["teams"] == "(none)"
    assert rows["dev"]["status"] == "active"
    assert rows["dev"]["last_sign_in"] == "2025-11-24 16:00"  # the last successful one
    assert rows["admin"]["last_sign_in"] == "never"  # seeded sessions are not sign-ins


def test_admin_adds_a_user_with_a_generated_password_shown_once(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, USERS_PAGE)
    at.text_input(key=K.W_NEW_USERNAME).set_value("Zoe")
    at.text_input(key=K.W_NEW_NAME).set_value("Zoe Q")
    at.selectbox(key=K.W_NEW_ROLE).set_value("developer")
    at.multiselect(key=K.W_NEW_TEAMS).set_value(["data"])
    at.button(key="FormSubmitter:admin.add-Add user").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert md_text("Added zoe (developer).") in [s.value for s in at.success]
    [shown] = [c.value for c in at.code]
    zoe = user(empty_url, "zoe")
    assert zoe is not None and zoe.teams == ("data",) and zoe.role == "developer"
    assert accounts.verify_password(shown, zoe.password_hash)
    [entry] = entries(empty_url, action="user.create", object_text="zoe")
    assert entry.actor == "admin" and entry.source == "ui" and entry.before is None
    assert entry.after["role"] == "developer" and entry.after["teams"] == ["data"]
    assert shown not in json.dumps([entry.after, entry.note]) and "password_hash" not in entry.after
    assert at.text_input(key=K.W_NEW_USERNAME).value == ""  # the form is empty again
    at.run()  # the next run: the password is gone from the page
    assert [c.value for c in at.code] == []


def test_bad_input_is_refused_field_by_field(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, USERS_PAGE)
    at.text_input(key=K.W_NEW_USERNAME).set_value("  ")
    at.text_input(key=K.W_NEW_EMAIL).set_value("not-an-email")
    at.text_input(key=K.W_NEW_PASSWORD).set_value("short")
    at.button(key="FormSubmitter:admin.add-Add user").click().run()
    got = errors(at)
    assert any(e.startswith("**Username**: enter a username") for e in got), got
    assert any(e.startswith("**Email**: invalid email") for e in got), got
    assert any(e.startswith("**Password**: password too short") for e in got), got
    assert entries(empty_url) == []


def test_disable_ends_sessions_and_is_audited(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, USERS_PAGE)
    other = app(empty_url, None, user="dev")  # dev is signed in elsewhere
    store = open_store(load_settings(database_url=empty_url))
    assert SessionRepo(store.engine).of_user("dev")
    at.selectbox(key=K.W_ADMIN_USER).set_value("dev").run()
    [disable] = [b for b in at.button if b.label == "Disable"]
    disable.click().run()
    assert not errors(at), errors(at)
    assert SessionRepo(store.engine).of_user("dev") == []
    store.close()
    assert user(empty_url, "dev").disabled
    [entry] = entries(empty_url, action="user.disable")
    assert (entry.before["disabled"], entry.after["disabled"], entry.actor) == (False, True, "admin")
    other.run()  # dev's open page: signed out
    assert any(b.label == "Sign in" for b in other.button)


def test_reset_password_and_change_access(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, USERS_PAGE)
    at.selectbox(key=K.W_ADMIN_USER).set_value("newbie").run()
    at.text_input(key=K.W_RESET_PASSWORD).set_value("brand-new-pass-1")
    at.button(key="FormSubmitter:admin.password-Reset password").click().run()
    assert not errors(at) and [c.value for c in at.code] == []  # a typed password is never shown
    assert accounts.verify_password("brand-new-pass-1", user(empty_url, "newbie").password_hash)
    [reset] = entries(empty_url, action="user.reset_password")
    assert "brand-new-pass-1" not in json.dumps([reset.before, reset.after, reset.note])
    at.selectbox(key=K.W_ADMIN_USER).set_value("newbie").run()
    [role] = [s for s in at.selectbox if s.label == "Role" and s.key != K.W_NEW_ROLE]
    role.set_value("team_lead")
    [teams] = [m for m in at.multiselect if m.label == "Teams" and m.key != K.W_NEW_TEAMS]
    teams.set_value(["ml"])
    at.button(key="FormSubmitter:admin.access-Save role and teams").click().run()
    assert not errors(at), errors(at)
    now = user(empty_url, "newbie")
    assert (now.role, now.teams) == ("team_lead", ("ml",))
    [change] = entries(empty_url, action="user.set_access")
    assert change.before["role"] == "developer" and change.after["teams"] == ["ml"]
    assert change.note == 'role: developer -> team_lead; teams: [] -> ["ml"]'


def test_an_admin_cannot_disable_themselves(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, USERS_PAGE)
    at.selectbox(key=K.W_ADMIN_USER).set_value("admin").run()
    [b for b in at.button if b.label == "Disable"][0].click().run()
    assert any("cannot disable your own account" in e for e in errors(at))
    assert not user(empty_url, "admin").disabled and entries(empty_url) == []


def test_audit_view_filters_and_offers_the_csv(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, USERS_PAGE)
    for name in ("ann", "bob"):
        at.text_input(key=K.W_NEW_USERNAME).set_value(name)
        at.button(key="FormSubmitter:admin.add-Add user").click().run()
    at.selectbox(key=K.W_ADMIN_USER).set_value("bob").run()
    [b for b in at.button if b.label == "Disable"][0].click().run()
    au = app(empty_url, AUDIT_PAGE)
    assert not au.exception and not errors(au)
    df = au.dataframe[0].value
    assert list(df["action"]) == ["user.disable", "user.create", "user.create"]
    assert set(df["object"]) == {"user:ann", "user:bob"} and set(df["actor"]) == {"admin"}
    assert au.get("download_button"), "no CSV download"
    au.selectbox(key=K.W_AUDIT_ACTION).set_value("user.create").run()
    assert list(au.dataframe[0].value["object"]) == ["user:bob", "user:ann"]
    au.text_input(key=K.W_AUDIT_OBJECT).set_value("AN").run()
    assert list(au.dataframe[0].value["object"]) == ["user:ann"]


@pytest.mark.parametrize("who", FORBIDDEN)
@pytest.mark.parametrize("page", [USERS_PAGE, AUDIT_PAGE])
def test_other_roles_may_not_open_the_admin_views(
    app: AppFactory, empty_url: str, who: str, page: str
) -> None:
    at = app(empty_url, page, user=who)
    assert any("may not open" in e for e in errors(at)), errors(at)
    assert not at.dataframe and not at.text_input


@pytest.mark.parametrize("who", FORBIDDEN)
def test_the_seam_refuses_other_roles_whatever_the_page(empty_url: str, who: str) -> None:
    backend = open_backend(load_settings(database_url=empty_url))
    try:
        u = user(empty_url, who)
        console = backend.console(Principal.of(u))
        assert console.principal.role is not Role.ADMIN
        calls = [
            lambda: console.admin.users(),
            lambda: console.admin.create_user("mallory", "admin", password="mallory-pass-1"),
            lambda: console.admin.set_disabled("admin", True),
            lambda: console.admin.reset_password("admin", "taken-over-1"),
            lambda: console.admin.set_access(who, "admin", None),
            lambda: console.admin.make_lead(who, "ml"),
            lambda: console.admin.audit(),
            lambda: console.admin.audit_choices("actor"),
        ]
        for call in calls:
            with pytest.raises(PermissionDenied, match="may not manage_users"):
                call()
    finally:
        backend.store.close()
    assert user(empty_url, "mallory") is None and user(empty_url, who).role != "admin"
    assert entries(empty_url) == []


def test_the_audit_view_shows_the_newest_entries_and_says_when_it_stops(
    app: AppFactory, empty_url: str
) -> None:
    store = open_store(load_settings(database_url=empty_url))
    now = store.now_ms()
    with store.engine.begin() as conn:
        for i in range(5_001):
            write_entry(conn, AuditEntry(now - i * 1000, "admin", "ui", "user.enable", "user", f"u{i}"))
    store.close()
    at = app(empty_url, AUDIT_PAGE)
    assert not at.exception and not errors(at)
    df = at.dataframe[0].value
    assert len(df) == 5_000 and df["object"].iloc[0] == "user:u0" and "user:u5000" not in set(df["object"])
    assert any("Only the newest 5,000 are shown" in c.value for c in at.caption)
