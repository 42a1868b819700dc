"""``pulse recommend`` against the two demo weeks: JSON, CSV, table, team filter, bad input."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

from collectors.demo import DemoCollector
from core.cli import main
from core.storage.tsdb import Store
from tests.core.optimization.conftest import END


@pytest.fixture
def on_history(history: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PULSE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PULSE_DATABASE_URL", history.engine.url.render_as_string(hide_password=False))


AT = ["--at", str(END // 1000), "--window-days", "7"]


def test_rightsizing_json_has_evidence_and_risks(
    on_history: None, demo: DemoCollector, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recommend", "--kind", "rightsizing", "--format", "json", *AT]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["server"] for r in rows} == {s.name for s in demo.topology.servers}
    under = {s.name for s in demo.topology.servers if s.profile == "under"}
    for r in rows:
        assert r["status"] == "ok" and r["ev_points"] >= 100 and r["ev_memory_peak_gib"] > 0
        assert r["memory_limit_rec_gib"] >= r["ev_memory_peak_gib"] * 1.15 - 1e-9
        assert ("oom_kills" in r["risks"]) == (r["server"] in under)


def test_team_filter_and_csv(
    on_history: None, demo: DemoCollector, capsys: pytest.CaptureFixture[str]
) -> None:
    idle = {s.name: s.team for s in demo.topology.servers if s.idle}
    team = sorted(idle.values())[0]
    other = next(t for t in demo.topology.teams if t not in idle.values())
    for asked in (team, other):
        assert main(["recommend", "--team", asked, "--kind", "idle", "--format", "csv", *AT]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        servers = {r["name"] for r in rows if r["object"] == "server"}
        assert servers == {n for n, t in idle.items() if t == asked}
        assert all(r["team"] == asked for r in rows)


def test_all_kinds_as_tables(on_history: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", *AT]) == 0
    out = capsys.readouterr().out
    for kind in ("rightsizing", "idle", "consolidation", "regression"):
        assert f"{kind}: " in out
    assert "drain" in out and "deploy" in out


def test_unknown_strategy_is_one_line_and_status_2(
    on_history: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recommend", "--strategy", "magic", *AT]) == 2
    err = capsys.readouterr().err
    assert "unknown strategy 'magic'" in err and len(err.strip().splitlines()) == 1
