"""``pulse recommend apply|dismiss|snooze|reopen KEY`` and ``states`` on a real store: the listing
carries each row's key and state, every change goes through the seam's lifecycle (refusals come
back as one line and status 2) and lands in the audit log as the CLI's ``cli:<user>``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from core.admin.audit import Actor
from core.cli import main
from core.kernel.records.audit import AuditQuery
from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.storage.repos.audit import AuditRepo
from core.storage.tsdb import Store, open_store

KEY = "rightsizing:right-sized"
HOUR, DAY_MS = 3_600_000, 86_400_000
END = 1_790_000_000_000 - 1_790_000_000_000 % HOUR
AT = ["--at", str(END // 1000), "--window-days", "0.25"]


def write_server(store: Store, server: str) -> None:
    """Six hours of one team's container, a sample a minute: enough for a recommendation."""
    lb = labels_of(server=server, host="h1", team="platform", session_id="s1")
    store.write(
        [
            Sample(metric, lb, ts, value)
            for ts in range(END - 6 * HOUR, END, 60_000)
            for metric, value in (
                ("container_cpu_usage_cores", 0.5 + (ts // 60_000 % 7) / 100),
                ("container_memory_working_set_bytes", float(2**30)),
                ("container_cpu_request_cores", 4.0),
                ("container_memory_request_bytes", float(8 * 2**30)),
            )
        ]
    )


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    for key in list(os.environ):
        if key.startswith("PULSE_"):
            monkeypatch.delenv(key)
    url = f"sqlite:///{tmp_path}/p.db"
    monkeypatch.setenv("PULSE_DATABASE_URL", url)
    s = open_store(load_settings(database_url=url, data_dir=tmp_path))
    write_server(s, "right-sized")
    write_server(s, "other")
    yield s
    s.close()


def states(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    assert main(["recommend", "states", "--format", "json"]) == 0
    return {r["key"]: r for r in json.loads(capsys.readouterr().out)}


def test_apply_then_the_list_and_the_audit_log_show_it(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recommend", "apply", KEY, "--reason", "requests cut on Monday"]) == 0
    out = capsys.readouterr().out
    who = Actor.cli().name
    assert f"{KEY} is now applied" in out and who in out and "team platform" in out
    rows = {r["server"]: r for r in _list(capsys)}
    assert (rows["right-sized"]["key"], rows["right-sized"]["state"]) == (KEY, "applied")
    assert rows["other"]["state"] == "open"
    assert states(capsys)[KEY]["username"] == who
    entries = AuditRepo(store.engine).read(AuditQuery(action="recommendation.applied"))
    assert [(e.actor, e.source, e.object_id) for e in entries] == [(who, "cli", KEY)]
    assert entries[0].after is not None and entries[0].after["reason"] == "requests cut on Monday"


def test_impact_of_an_applied_one(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", "apply", KEY]) == 0
    capsys.readouterr()
    assert main(["recommend", "impact", KEY]) == 0  # applied just now: nothing after it yet
    assert "too early to tell" in capsys.readouterr().out


def test_snooze_until_a_duration_and_reopen(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    before = store.now_ms()
    assert main(["recommend", "snooze", "rightsizing:other", "--until", "7d"]) == 0
    capsys.readouterr()
    row = states(capsys)["rightsizing:other"]
    assert row["state"] == "snoozed"
    assert before + 7 * DAY_MS <= int(row["until_ms"]) <= store.now_ms() + 7 * DAY_MS  # type: ignore[call-overload]
    assert main(["recommend", "reopen", "rightsizing:other"]) == 0
    capsys.readouterr()
    assert states(capsys)["rightsizing:other"]["state"] == "open"
    actions = [e.action for e in AuditRepo(store.engine).read(AuditQuery())]
    assert actions == ["recommendation.open", "recommendation.snoozed"]  # newest first


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dismiss", KEY], "say why it is dismissed"),
        (["apply", "right-sized"], "write it as <kind>:<subject>"),
        (["apply", "magic:x"], "unknown kind 'magic'"),
        (["apply"], "give the recommendation's key"),
        (["snooze", KEY, "--until", "yesterday"], "--until 'yesterday'"),
        (["snooze", KEY, "--until=-1h"], "a snooze needs an end in the future"),
        (["apply", KEY, "--until", "7d"], "--until is for snooze only"),
        (["apply", "rightsizing:nobody"], "no server 'nobody'"),
        (["states", KEY], "states takes no key"),
        (["impact", KEY], "has not been applied"),
        (["impact", KEY, "--window-hours", "0"], "--window-hours 0"),
    ],
)
def test_refusals_are_one_line_naming_the_problem(
    store: Store, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["recommend", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert AuditRepo(store.engine).read(AuditQuery()) == []


def _list(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main(["recommend", "--kind", "rightsizing", "--format", "json", *AT]) == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows


def test_keys_of_each_kind_of_row() -> None:
    from core.optimization.lifecycle import database_subject, queryid_of, with_states

    states = pl.DataFrame({"key": ["idle:a", "consolidation:h2"], "state": ["dismissed", "applied"]})
    idle = pl.DataFrame({"object": ["server", "session", "host"], "name": ["a", "s1", "h1"]})
    got = with_states("idle", idle, states)
    assert got.select("key", "state").rows() == [("idle:a", "dismissed"), (None, None), (None, None)]
    hosts = with_states("consolidation", pl.DataFrame({"host": ["h1", "h2"]}), states)
    assert hosts["state"].to_list() == ["open", "applied"]
    db = pl.DataFrame({"ddl": ["CREATE INDEX ON t (a)", ""], "queryid": ["-7", "8"]})
    keys = with_states("database", db, states)["key"].to_list()
    assert keys == ["database:" + database_subject("-7", "CREATE INDEX ON t (a)"), None]
    assert queryid_of(keys[0]) == "-7" and queryid_of("database:CREATE INDEX ON t (a)") is None
