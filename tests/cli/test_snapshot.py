"""``pulse snapshot``: the files, their names and content, retention, and a bad ``--out``."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from core.cli.main import main
from tests.cli.test_cli import use_db
from tests.demo_store import HOUR, write_demo

NAME = re.compile(
    r"^(usage-per-team|usage-per-user|capacity-forecast|recommendations-[a-z]+)_\d{4}-\d\d-\d\dT\d{4}Z\.csv$"
)


@pytest.fixture
def empty_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return use_db(monkeypatch, tmp_path)


@pytest.fixture
def demo_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    db = use_db(monkeypatch, tmp_path)
    now = int(time.time() * 1000)
    write_demo(f"sqlite:///{db}", now - 12 * HOUR, now, step_s=300, hosts=2, servers_per_host=3)
    return tmp_path


def test_writes_every_snapshot_named_by_what_and_when(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = demo_db / "exports"
    assert main(["snapshot", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert all(NAME.match(n) for n in names), names
    kinds = {n.split("_")[0] for n in names}
    assert {"usage-per-team", "usage-per-user", "capacity-forecast"} <= kinds
    stamp = time.strftime("%Y-%m-%dT", time.gmtime())
    assert all(stamp in n for n in names)
    printed = capsys.readouterr().out
    assert printed.count("wrote ") == len(names)
    team = next(p for p in out.iterdir() if p.name.startswith("usage-per-team_")).read_text().splitlines()
    assert team[0] == (
        "team,active_users_peak,users,debug_sessions_peak,mcp_servers,tool_calls,cpu_core_hours,"
        "memory_gib_hours,cpu_request_core_hours,memory_request_gib_hours,cost,growth_pct"
    )
    assert len(team) == 1 + 4  # the demo's four teams
    forecast = next(p for p in out.iterdir() if p.name.startswith("capacity-forecast_")).read_text()
    assert forecast.startswith("aggregate,unit,ts,") and "fleet_cpu" in forecast


def test_default_folder_and_retention(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_SNAPSHOTS__RETENTION_DAYS", "7")
    folder = demo_db / "data" / "snapshots"
    folder.mkdir(parents=True)
    old = folder / "usage-per-team_2020-01-01T0000Z.csv"
    recent_day = time.strftime("%Y-%m-%dT0000Z", time.gmtime(time.time() - 3 * 86400))
    recent = folder / f"capacity-forecast_{recent_day}.csv"
    foreign = folder / "notes_2020-01-01T0000Z.csv"  # not a name of ours: never deleted
    for p in (old, recent, foreign):
        p.write_text("x\n")
    assert main(["snapshot"]) == 0
    assert not old.exists() and recent.exists() and foreign.exists()
    assert any(p.name.startswith("usage-per-user_") for p in folder.iterdir())


@pytest.mark.parametrize("bad", ["a-file", "a-file/below"])
def test_bad_out_gives_a_clear_message(
    empty_db: Path, tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    target = tmp_path / bad
    assert main(["snapshot", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pulse: error: --out {target}: ")
    assert "not a folder" in err or "cannot create the folder" in err
    assert "Traceback" not in err


def test_bad_retention_setting_is_named(
    empty_db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSE_SNAPSHOTS__RETENTION_DAYS", "0")
    assert main(["snapshot"]) == 2
    assert "setting 'snapshots.retention_days'" in capsys.readouterr().err
