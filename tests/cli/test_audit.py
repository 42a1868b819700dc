"""``pulse audit``: the audit log as a table, CSV (neutralised) and JSON, filtered by time and more;
``pulse users`` changes appear in it as ``cli:<os user>``."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from core.kernel.records.audit import AuditEntry
from core.kernel.settings import load_settings
from core.storage.repos.audit import AuditRepo
from core.storage.tsdb import open_store
from tests.cli.test_cli import assert_one_line_error, run, use_db

DAY_MS = 86_400_000


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return use_db(monkeypatch, tmp_path)


def add(*entries: AuditEntry) -> None:
    store = open_store(load_settings())
    try:
        for e in entries:
            AuditRepo(store.engine).add(e)
    finally:
        store.close()


def test_users_commands_are_audited_and_printed(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "users", "add", "ada", "--role", "developer", "--team", "a")[0] == 0
    assert run(capsys, "users", "update", "ada", "--role", "team_lead")[0] == 0
    assert run(capsys, "users", "disable", "ada")[0] == 0
    rc, out, err = run(capsys, "audit")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["TIME", "ACTOR", "SOURCE", "ACTION", "OBJECT", "CHANGES"]
    rows = [line.split()[:5] for line in lines[1:]]
    assert [r[3] for r in rows] == ["user.disable", "user.set_access", "user.create"]
    assert all(r[1].startswith("cli:") and r[2] == "cli" and r[4] == "user:ada" for r in rows)
    assert "role: developer -> team_lead" in lines[2]
    rc, out, _ = run(capsys, "audit", "--format", "json", "--action", "user.create")
    [created] = json.loads(out)
    assert created["before"] is None and created["after"]["teams"] == ["a"]
    assert "password" not in json.dumps(created["after"]) and "password generated" in created["changes"]


def test_since_until_and_csv_neutralised(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = int(time.time() * 1000)
    add(
        AuditEntry(now - 10 * DAY_MS, "old", "ui", "user.create", "user", "x", None, {"a": 1}),
        AuditEntry(
            now - 2 * DAY_MS, "admin", "ui", "silence.create", "silence", "=1+1", None, {"c": "@SUM(A1)"}
        ),
        AuditEntry(
            now - 60_000, "admin", "ui", "user.disable", "user", "bob", {"d": False}, {"d": True}, note="-x"
        ),
    )
    rc, out, _ = run(capsys, "audit", "--format", "csv")
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["action"] for r in rows] == ["user.disable", "silence.create"]  # 7 days by default
    assert rows[1]["object"] == "silence:=1+1"  # starts with "s": left alone
    assert rows[0]["changes"] == "'-x"  # a formula trigger first: neutralised
    assert json.loads(rows[1]["after"]) == {"c": "@SUM(A1)"}
    assert list(rows[0]) == ["time", "actor", "source", "action", "object", "changes", "before", "after"]
    rc, out, _ = run(capsys, "audit", "--since", "30d", "--format", "json")
    assert [e["actor"] for e in json.loads(out)] == ["admin", "admin", "old"]
    rc, out, _ = run(capsys, "audit", "--since", "now-3d", "--until", "1d", "--format", "json")
    assert [e["action"] for e in json.loads(out)] == ["silence.create"]
    rc, out, _ = run(capsys, "audit", "--object", "BO", "--format", "json")
    assert [e["object_id"] for e in json.loads(out)] == ["bob"]
    rc, out, _ = run(capsys, "audit", "--since", "1h", "--actor", "nobody")
    assert rc == 0 and out.strip() == "no audit entries in this range"


def test_bad_since_is_one_line_and_exit_2(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_error(*run(capsys, "audit", "--since", "last tuesday"), "bad time 'last tuesday'")
