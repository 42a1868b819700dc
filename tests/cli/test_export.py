"""``pulse export grafana DIR`` in-process: the files, what they hold, and a folder it cannot write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from core.cli import main

EXPECTED = {
    "dashboards/pulse-health.json",
    "dashboards/pulse-performance.json",
    "dashboards/pulse-capacity.json",
    "dashboards/pulse-self.json",
    "provisioning/datasources/pulse.yaml",
    "provisioning/dashboards/pulse.yaml",
    "prometheus/pulse-scrape.yaml",
}


def test_writes_dashboards_provisioning_and_the_scrape_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSE_DATABASE_URL", f"sqlite:///{tmp_path}/p.db")
    monkeypatch.setenv("PULSE_METRICS__PORT", "9777")
    out = tmp_path / "out"
    assert main(["export", "grafana", str(out), "--datasource-url", "http://prom:9090"]) == 0
    assert {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} == EXPECTED
    assert "wrote 7 files" in capsys.readouterr().out
    health = json.loads((out / "dashboards/pulse-health.json").read_text())
    assert health["uid"] == "pulse-health" and any(p["type"] == "timeseries" for p in health["panels"])
    (ds,) = yaml.safe_load((out / "provisioning/datasources/pulse.yaml").read_text())["datasources"]
    assert ds["url"] == "http://prom:9090"
    (job,) = yaml.safe_load((out / "prometheus/pulse-scrape.yaml").read_text())["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:9777"]


def test_a_folder_it_cannot_write_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSE_DATABASE_URL", f"sqlite:///{tmp_path}/p.db")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["export", "grafana", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pulse: error: cannot write the Grafana export to") and str(blocker) in err
    assert "Traceback" not in err
