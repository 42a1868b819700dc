"""``pulse settings export|import``: the whole settings as one TOML file, imported back audited as
the CLI actor; a bad file names the problem and its line, exits non-zero and saves nothing."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from core.kernel.records.audit import AuditQuery
from core.kernel.settings import load_settings
from core.storage.repos.audit import AuditRepo
from core.storage.repos.settings import SettingsRepo
from core.storage.tsdb import open_store
from tests.cli.test_cli import assert_one_line_error, run, use_db


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return use_db(monkeypatch, tmp_path)


def stored() -> tuple[dict, list]:  # type: ignore[type-arg]
    store = open_store(load_settings())
    try:
        overrides = {k: o.value for k, o in SettingsRepo(store.engine).overrides().items()}
        return overrides, AuditRepo(store.engine).read(AuditQuery())
    finally:
        store.close()


def test_export_to_a_file_and_to_stdout(db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, _ = run(capsys, "settings", "export", str(tmp_path / "s.toml"))
    assert rc == 0 and out == f"settings written to {tmp_path / 's.toml'}\n"
    text = (tmp_path / "s.toml").read_text()
    assert text.startswith("# MCP Pulse settings, exported") and "[host]\ninterval_s = 15\n" in text
    assert 'database_url = "********"' in text and str(db) not in text  # the URL is a secret
    rc, out, _ = run(capsys, "settings", "export")
    assert rc == 0 and "[host]\ninterval_s = 15\n" in out


def test_import_changes_what_differs_and_is_audited_as_the_cli(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "settings", "export", str(tmp_path / "s.toml"))
    path = tmp_path / "s.toml"
    rc, out, _ = run(capsys, "settings", "import", str(path))
    assert rc == 0 and "nothing to change" in out
    path.write_text(path.read_text().replace("[host]\ninterval_s = 15", "[host]\ninterval_s = 5"))
    rc, out, _ = run(capsys, "settings", "import", str(path))
    assert rc == 0 and out == f"{path}: imported host as revision 1\n"
    overrides, entries = stored()
    assert overrides == {"host": {"interval_s": 5}}
    [entry] = entries
    assert (entry.actor, entry.source, entry.action, entry.note) == (
        f"cli:{getpass.getuser()}", "cli", "settings.import", "interval_s: 15 -> 5"
    )  # fmt: skip


def test_a_bad_file_names_the_problem_and_line_and_saves_nothing(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[host]\ninterval_s = 5\n\n[retention]\nraw_days = -1\n")
    rc, out, err = run(capsys, "settings", "import", str(bad))
    assert rc == 1 and out == ""
    assert err.splitlines() == [
        f"pulse: {bad}: not imported, nothing was saved:",
        "  line 5: retention.raw_days: must be greater than 0 (got -1)",
    ]
    bad.write_text("[host]\ninterval_s = \n")
    rc, _, err = run(capsys, "settings", "import", str(bad))
    assert rc == 1 and "not valid TOML" in err and "line 2" in err
    bad.write_text("[metrics]\nport = 1\n")
    rc, _, err = run(capsys, "settings", "import", str(bad))
    assert rc == 1 and "line 1: metrics: takes effect at the next start" in err
    assert stored() == ({}, [])
    rc, out, err = run(capsys, "settings", "import", str(tmp_path / "missing.toml"))
    assert_one_line_error(rc, out, err, "cannot read the settings file")
