"""core.storage.repos.audit on SQLite and PostgreSQL: entries in the change's transaction, filters,
newest first, JSON values, and nothing written when the change is not made or rolls back."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from core.kernel.records.audit import AuditEntry, AuditQuery
from core.kernel.records.notifications import Silence
from core.storage.repos.audit import AuditRepo
from core.storage.repos.notifications import add_silence, expire_silence
from core.storage.repos.users import UserRepo
from core.storage.tsdb.store import Store


def entry(
    at: int, actor: str = "admin", action: str = "user.create", obj: str = "ada", **kw: object
) -> AuditEntry:
    return AuditEntry(at, actor, "ui", action, action.split(".")[0], obj, **kw)  # type: ignore[arg-type]


def test_entries_round_trip_newest_first_with_filters(store: Store) -> None:
    repo = AuditRepo(store.engine)
    repo.add(entry(1_000, after={"role": "viewer", "teams": ["a", "b"], "n": 1, "ok": True}))
    repo.add(
        entry(
            2_000,
            actor="cli:root",
            action="user.disable",
            before={"disabled": False},
            after={"disabled": True},
        )
    )
    repo.add(entry(3_000, action="silence.create", obj="5f1c-Ab_%", note="x"))
    got = repo.read()
    assert [e.at_ms for e in got] == [3_000, 2_000, 1_000]
    assert (
        got[2].after == {"n": 1, "ok": True, "role": "viewer", "teams": ["a", "b"]} and got[2].before is None
    )
    assert got[1].before == {"disabled": False} and got[1].actor == "cli:root"
    assert [e.at_ms for e in repo.read(AuditQuery(since_ms=2_000))] == [3_000, 2_000]
    assert [e.at_ms for e in repo.read(AuditQuery(until_ms=1_999))] == [1_000]
    assert [e.at_ms for e in repo.read(AuditQuery(actor="cli:root"))] == [2_000]
    assert [e.at_ms for e in repo.read(AuditQuery(action="user.create"))] == [1_000]
    assert [e.at_ms for e in repo.read(AuditQuery(object_kind="silence"))] == [3_000]
    # the object filter is a case-insensitive substring; % and _ are literal, not wildcards
    assert [e.at_ms for e in repo.read(AuditQuery(object_text="ab_%"))] == [3_000]
    assert repo.read(AuditQuery(object_text="a%d")) == []
    assert [e.at_ms for e in repo.read(AuditQuery(limit=1))] == [3_000]
    assert repo.distinct("actor") == ["admin", "cli:root"]
    assert repo.distinct("object_kind") == ["silence", "user"]
    with pytest.raises(ValueError, match="no filter"):
        repo.distinct("before")


def test_a_value_json_cannot_hold_is_refused_not_stored_as_its_repr(store: Store) -> None:
    repo = AuditRepo(store.engine)
    with pytest.raises(TypeError):
        repo.add(entry(1, after={"token": SecretStr("s3cret")}))
    assert repo.read() == []


def test_user_changes_write_their_entry_in_the_same_transaction(store: Store) -> None:
    users, log = UserRepo(store.engine), AuditRepo(store.engine)
    assert users.add(username="ada", password_hash="h", role="viewer", now_ms=1, audit=entry(1)) is not None
    # a taken username: no user, and no entry either
    assert users.add(username="ada", password_hash="h", role="viewer", now_ms=2, audit=entry(2)) is None
    assert not users.set_role("ghost", "admin", audit=entry(3, action="user.set_role", obj="ghost"))
    assert users.set_role("ada", "developer", audit=entry(4, action="user.set_role"))
    assert users.set_teams("ada", ["a"], audit=entry(5, action="user.set_teams"))
    assert users.set_teams("ada", ["a"], audit=entry(6, action="user.set_teams"))  # unchanged: no entry
    assert users.set_access("ada", "team_lead", ["b"], audit=entry(7, action="user.set_access"))
    assert users.set_disabled("ada", True, audit=entry(8, action="user.disable"))
    assert users.set_password("ada", "h2", audit=entry(9, action="user.reset_password"))
    assert [e.at_ms for e in log.read()] == [9, 8, 7, 5, 4, 1]
    ada = users.get("ada")
    assert ada is not None and (ada.role, ada.teams, ada.disabled) == ("team_lead", ("b",), True)


def test_a_change_that_fails_leaves_no_entry(store: Store) -> None:
    users, log = UserRepo(store.engine), AuditRepo(store.engine)
    users.add(username="ada", password_hash="h", role="viewer", now_ms=1)
    bad = AuditEntry(2, "admin", "ui", "user.set_role", "user", "ada", after={"x": object()})
    with pytest.raises(TypeError):
        users.set_role("ada", "admin", audit=bad)  # the entry fails: the change rolls back with it
    assert users.get("ada").role == "viewer"  # type: ignore[union-attr]
    assert log.read() == []


def test_silences_and_their_entries(store: Store) -> None:
    log = AuditRepo(store.engine)
    s = Silence("sid-1", (), 0, 10_000, "admin", "maintenance", 0)
    add_silence(store.engine, s, entry(1, action="silence.create", obj="sid-1"))
    assert not expire_silence(store.engine, "nope", 5_000, entry(2, action="silence.end", obj="nope"))
    assert expire_silence(store.engine, "sid-1", 5_000, entry(3, action="silence.end", obj="sid-1"))
    assert not expire_silence(store.engine, "sid-1", 6_000, entry(4, action="silence.end", obj="sid-1"))
    assert [(e.at_ms, e.action) for e in log.read()] == [(3, "silence.end"), (1, "silence.create")]
