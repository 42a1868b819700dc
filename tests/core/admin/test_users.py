"""core.admin.users on SQLite and PostgreSQL: one audit entry per change with before and after,
no password in the log, field-by-field refusals, the last admin and oneself protected."""

from __future__ import annotations

import json

import pytest

from core.access import accounts
from core.admin.audit import Actor
from core.admin.masking import MASK
from core.admin.users import UserAdmin
from core.kernel.errors import FieldErrors
from core.kernel.records.audit import AuditQuery
from core.storage.repos.audit import AuditRepo
from core.storage.repos.sessions import SessionRepo
from core.storage.repos.users import UserRepo
from core.storage.tsdb.store import Store
from tests.conftest import FakeClock


@pytest.fixture
def admin(store: Store, clock: FakeClock) -> UserAdmin:
    repo = UserRepo(store.engine)
    repo.add(username="root", password_hash=accounts.hash_password("root-pass-1", 4), role="admin", now_ms=0)
    return UserAdmin(repo, Actor("root"), lambda: clock.ms, rounds=4)


def log(admin: UserAdmin, **query: object) -> list:  # type: ignore[type-arg]
    return AuditRepo(admin.repo.engine).read(AuditQuery(**query))  # type: ignore[arg-type]


def test_every_change_writes_one_entry_with_before_and_after(admin: UserAdmin, clock: FakeClock) -> None:
    made = admin.create("Ada", "developer", ["b,a"], "Ada L", "ada@example.com")
    assert made.password and accounts.verify_password(made.password, made.user.password_hash)
    clock.advance(1)
    admin.set_access("ada", "team_lead", None)
    clock.advance(1)
    admin.set_access("ada", None, ["c"])
    clock.advance(1)
    admin.make_lead("ada", "d")
    clock.advance(1)
    assert admin.reset_password("ada", "ada-new-pass-1") is None
    clock.advance(1)
    admin.set_disabled("ada", True)
    clock.advance(1)
    admin.set_disabled("ada", False)
    got = list(reversed(log(admin)))
    assert [e.action for e in got] == [
        "user.create", "user.set_access", "user.set_access", "user.make_lead",
        "user.reset_password", "user.disable", "user.enable",
    ]  # fmt: skip
    assert all(e.actor == "root" and e.source == "ui" and e.object_id == "ada" for e in got)
    assert [e.at_ms for e in got] == [clock.ms - 6000 + 1000 * i for i in range(7)]
    create, role, teams, lead, reset, disable, enable = got
    assert create.before is None and create.after == {
        "username": "ada", "display_name": "Ada L", "email": "ada@example.com",
        "role": "developer", "teams": ["a", "b"], "disabled": False,
    }  # fmt: skip
    assert "password generated" in create.note
    assert (role.before["role"], role.after["role"]) == ("developer", "team_lead")
    assert (teams.before["teams"], teams.after["teams"]) == (["a", "b"], ["c"])
    assert lead.after["teams"] == ["c", "d"] and lead.note == 'teams: ["c"] -> ["c", "d"]'
    assert reset.before == reset.after == {"password": MASK} and "set by the admin" in reset.note
    assert (disable.before["disabled"], disable.after["disabled"]) == (False, True)
    assert (enable.before["disabled"], enable.after["disabled"]) == (True, False)
    dumped = json.dumps([(e.before, e.after, e.note) for e in got])
    assert made.password not in dumped and "ada-new-pass-1" not in dumped and "$2b$" not in dumped


def test_no_change_no_entry(admin: UserAdmin) -> None:
    admin.create("ada", "viewer", [], password="ada-pass-12")
    admin.set_access("ada", "viewer", [])
    admin.set_disabled("ada", False)
    assert [e.action for e in log(admin)] == ["user.create"]


def test_disabling_ends_the_users_sessions(admin: UserAdmin, store: Store) -> None:
    admin.create("ada", "viewer", [], password="ada-pass-12")
    sessions = SessionRepo(store.engine)
    sessions.create("a" * 64, "ada", "c1", 0)
    sessions.create("b" * 64, "ada", "c2", 0)
    sessions.create("c" * 64, "root", "c3", 0)
    admin.set_disabled("ada", True)
    assert sessions.of_user("ada") == [] and len(sessions.of_user("root")) == 1


def test_bad_input_names_each_field(admin: UserAdmin) -> None:
    with pytest.raises(FieldErrors) as err:
        admin.create("", "boss", ["bad team!"], "x" * 300, "nope", "short")
    assert set(err.value.fields) == {"username", "role", "teams", "display_name", "email", "password"}
    assert err.value.fields["username"] == "enter a username"
    assert err.value.fields["role"].startswith("unknown role 'boss'; choose one of admin")
    assert err.value.fields["password"].startswith("password too short")
    with pytest.raises(FieldErrors, match="invalid username 'a b'"):
        admin.create("a b", "viewer")
    with pytest.raises(FieldErrors, match="choose a role"):
        admin.create("ada", " ")
    admin.create("ada", "viewer", password="ada-pass-12")
    with pytest.raises(FieldErrors, match="user 'ada' exists"):
        admin.create("ADA", "viewer")
    with pytest.raises(FieldErrors, match="no user 'ghost'"):
        admin.set_disabled("ghost", True)
    with pytest.raises(FieldErrors, match="password starts or ends with white space"):
        admin.reset_password("ada", " spaced-pass-1")
    with pytest.raises(FieldErrors, match="name the team"):
        admin.make_lead("ada", " ")
    assert [e.action for e in log(admin)] == ["user.create"]


def test_the_last_admin_and_oneself_are_protected(admin: UserAdmin, clock: FakeClock) -> None:
    with pytest.raises(FieldErrors, match="cannot disable your own account"):
        admin.set_disabled("root", True)
    with pytest.raises(FieldErrors, match="cannot demote your own account"):
        admin.set_access("root", "viewer", None)
    cli = UserAdmin(admin.repo, Actor.cli(), lambda: clock.ms, rounds=4)
    assert cli.actor.name.startswith("cli:") and cli.actor.source == "cli"
    with pytest.raises(FieldErrors, match="'root' is the last active admin"):
        cli.set_disabled("root", True)
    cli.create("ops", "admin", password="ops-pass-123")
    cli.set_disabled("root", True)  # another admin exists now
    assert [e.actor for e in log(admin)] == [cli.actor.name] * 2


def test_the_first_admin_created_at_the_first_start_is_audited(store: Store) -> None:
    repo = UserRepo(store.engine)
    done = accounts.bootstrap_admin(repo, {}, rounds=4)
    assert done.created and done.password
    [e] = AuditRepo(store.engine).read()
    assert (e.actor, e.source, e.action, e.object_id, e.before) == (
        "pulse",
        "system",
        "user.create",
        "admin",
        None,
    )
    assert e.after is not None and e.after["role"] == "admin" and "generated" in e.note
    assert done.password not in json.dumps([e.after, e.note])
