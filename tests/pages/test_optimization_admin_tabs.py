"""AppTest of the Optimization page's admin tabs: Database (index advice for a configured postgres
source: a throwaway cluster with pg_stat_statements and HypoPG) and Profile (py-spy by PID)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.optimization.pgadvice import advice_cluster, run_workload
from tests.core.optimization.test_profiling import BUSY, require_pyspy
from tests.pages.conftest import SEEDED_AT, AppFactory, add_users, seed

PAGE = "pages/optimization.py"
__all__ = ["advice_cluster"]


@pytest.fixture
def configured(advice_cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh store (the page layer caches one backend per URL) and a config naming the cluster."""
    url = f"sqlite:///{tmp_path}/db-tab.db"
    SEEDED_AT[url] = int(time.time() * 1000)
    seed(url, SEEDED_AT[url])
    add_users(url)
    config = tmp_path / "pulse.toml"
    config.write_text(
        f'[[sources]]\nname = "appdb"\nkind = "postgres"\ndsn = "{advice_cluster}"\nenabled = true\n'
    )
    monkeypatch.setenv("PULSE_CONFIG", str(config))
    return url


@pytest.mark.postgres
def test_admin_checks_indexes_of_a_postgres_source(
    app: AppFactory, configured: str, advice_cluster: str
) -> None:
    run_workload(advice_cluster)
    at = app(configured, PAGE)
    assert "Database" in at.segmented_control(key="opt.tab").options
    at.segmented_control(key="opt.tab").set_value("Database").run()
    assert not at.exception
    assert at.selectbox(key="opt.db.source").value == "appdb"
    at.button(key="opt.db.check").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    ok = table[table["status"] == "ok"]
    assert list(ok["ddl"]) == ['CREATE INDEX CONCURRENTLY ON "app"."events" ("user_id", "created_at")']
    assert (ok["cost_cut"] > 0.9).all() and (ok["calls"] >= 30).all()
    assert {m.label: m.value for m in at.metric}["Indexes recommended"] == "1"
    assert len(at.get("download_button")) >= 1


def test_team_leads_do_not_get_the_tab(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, PAGE, user="lead")
    assert not at.exception
    assert not {"Database", "Profile"} & set(at.segmented_control(key="opt.tab").options)


def test_admin_profiles_a_busy_process(app: AppFactory, seeded_url: str) -> None:
    require_pyspy()
    proc = subprocess.Popen([sys.executable, str(BUSY), "60"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        at = app(seeded_url, PAGE)
        at.segmented_control(key="opt.tab").set_value("Profile").run()
        at.number_input(key="opt.profile.pid").set_value(proc.pid)
        at.slider(key="opt.profile.seconds").set_value(2).run()  # the button is enabled once a PID is in
        at.button(key="opt.profile.run").click().run()
    finally:
        proc.kill()
        proc.wait()
    assert not at.exception and not at.error
    top = at.dataframe[0].value
    assert top["function"].iloc[0].startswith("burn_cpu_hot (")
    flame = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert flame["type"] == "icicle" and any(label == "burn_cpu_hot" for label in flame["labels"])
    # a process that is not Python says so
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        at.number_input(key="opt.profile.pid").set_value(sleeper.pid)
        at.slider(key="opt.profile.seconds").set_value(1).run()
        at.button(key="opt.profile.run").click().run()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert any("not a Python process" in e.value for e in at.error)
