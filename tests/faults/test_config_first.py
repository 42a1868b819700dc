"""Issue 15 item 7: a bad configuration (a broken rule file) is found before any side effect: no
database file, no spool folder, no /metrics port; alembic's INFO lines stay quiet on a good start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.cli.main import ROOT
from tests.daemons import Daemon, sqlite_env

BROKEN = """groups:
  - name: core
    rules:
      - alert: Broken
        expr: rate(http_requests_total[5m] >
        for: 1m
"""


def test_a_broken_rule_file_fails_before_the_database_is_opened(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(BROKEN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env |= sqlite_env(tmp_path, PULSE_COLLECTORS="[]", PULSE_ALERTING__RULE_FILES=f'["{rules}"]')
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "collect", "--metrics-port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert str(rules) in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "pulse.db").exists(), "the database was opened before the rules were checked"
    assert not (tmp_path / "data" / "spool").exists()


def test_a_good_start_keeps_alembic_quiet(tmp_path: Path, daemons: list[Daemon]) -> None:  # noqa: F811
    d = Daemon(tmp_path, sqlite_env(tmp_path, PULSE_COLLECTORS="[]"), "--run-for", "1")
    daemons.append(d)
    assert d.wait() == 0
    assert "alembic" not in d.stderr(), d.stderr()
