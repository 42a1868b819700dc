"""``pulse rules check|export|import`` in-process through ``core.cli.main`` with files in tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from core.alerts.loader import load_rule_file
from core.cli import main
from tests.promstack import PROMTOOL, require_binary

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "core" / "alerts" / "default_rules.yml"

PULSE = """\
groups:
  - name: hosts
    interval: 1m
    rules:
      - alert: CpuHigh
        query: cpu
        threshold: 0.9
        resolve_threshold: 0.8
        for: 10m
        annotations:
          summary: "{{ $labels.host }} at {{ $value | humanizePercentage }}"
"""

PROM = """\
groups:
  - name: node
    rules:
      - record: instance:cpu:rate5m
        expr: rate(node_cpu_seconds_total[5m])
      - alert: NodeDown
        expr: up{job="node"} == 0
        for: 2m
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.instance }} is down"
"""

BAD = """\
groups:
  - name: hosts
    rules:
      - alert: Good
        query: cpu
      - alert: BadTemplate
        query: cpu
        annotations:
          summary: "{{ $value | shout }}"
      - alert: BadSelector
        query: cpu{host=
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("PULSE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def promtool_check(path: Path) -> None:
    require_binary(PROMTOOL, "prometheus")
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_counts_pulse_and_prometheus_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pulse, prom = write(tmp_path, "p.yml", PULSE), write(tmp_path, "prom.yml", PROM)
    assert main(["rules", "check", str(pulse), str(prom), str(DEFAULT)]) == 0
    out = capsys.readouterr().out
    assert f"{pulse}: OK, 1 group(s), 1 alerting rule(s) (1 Pulse, 0 PromQL)" in out
    assert f"{prom}: OK, 1 group(s), 1 alerting rule(s) (0 Pulse, 1 PromQL)" in out
    assert f"{prom}:4: group 'node', rule 'instance:cpu:rate5m': recording rules are not imported" in out
    assert f"{DEFAULT}: OK, 3 group(s), 12 alerting rule(s)" in out


def test_check_names_the_line_and_rule_of_every_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, good = write(tmp_path, "bad.yml", BAD), write(tmp_path, "good.yml", PULSE)
    assert main(["rules", "check", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"{good}: OK" in captured.out
    assert (
        f"{bad}:6: group 'hosts', rule 'BadTemplate': annotations: summary: unknown template function 'shout'"
        in captured.err
    )
    assert f"{bad}:10: group 'hosts', rule 'BadSelector': query: bad selector" in captured.err
    assert "Good" not in captured.err
    assert "1 of 2 file(s) have errors" in captured.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("groups:\n  - name: g\n    rules: [\n", "x.yml:4: not valid YAML"),
        ("alerts: []\n", "x.yml: a rule file is a mapping with a 'groups' list"),
        (
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n        for: soon\n",
            "x.yml:4: group 'g', rule 'A': for: bad duration 'soon'",
        ),
    ],
)
def test_check_malformed_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = write(tmp_path, "x.yml", text)
    assert main(["rules", "check", str(path)]) == 1
    assert f"{tmp_path}/{expected}" in capsys.readouterr().err


def test_check_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(tmp_path / "nope.yml")]) == 1
    assert "cannot read rule file" in capsys.readouterr().err


def test_export_defaults_to_the_default_pack_and_promtool_accepts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "export"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "# Prometheus alerting rules exported by `pulse rules export` from default_rules.yml"
    )
    path = write(tmp_path, "out.yml", out)
    promtool_check(path)
    names = [r["alert"] for g in yaml.safe_load(out)["groups"] for r in g["rules"]]
    assert names == [r.alert for g in load_rule_file(DEFAULT).groups for r in g.rules]


def test_export_files_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pulse, prom = write(tmp_path, "p.yml", PULSE), write(tmp_path, "prom.yml", PROM)
    out = tmp_path / "out" / "rules.yml"
    out.parent.mkdir()
    assert main(["rules", "export", str(pulse), str(prom), "-o", str(out)]) == 0
    assert f"wrote 2 rule(s) in 2 group(s) to {out}" in capsys.readouterr().err
    promtool_check(out)
    rules = {r["alert"]: r for g in yaml.safe_load(out.read_text())["groups"] for r in g["rules"]}
    assert rules["NodeDown"]["expr"] == 'up{job="node"} == 0'
    assert rules["CpuHigh"]["for"] == "10m"
    assert 'ALERTS{alertname="CpuHigh", alertstate="firing"' in rules["CpuHigh"]["expr"]


def test_export_refuses_bad_files_and_clashing_group_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "bad.yml", BAD)
    assert main(["rules", "export", str(bad)]) == 1
    assert "bad.yml:6: group 'hosts', rule 'BadTemplate'" in capsys.readouterr().err
    one, two = write(tmp_path, "one.yml", PULSE), write(tmp_path, "two.yml", PULSE)
    assert main(["rules", "export", str(one), str(two)]) == 1
    assert f"{two}: group 'hosts' is also in {one}: rename one" in capsys.readouterr().err


def test_export_to_an_unwritable_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "export", "-o", str(tmp_path / "no" / "such" / "dir.yml")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_import_writes_pulse_rules_that_keep_the_promql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PULSE_SOURCES", json.dumps([{"kind": "prometheus", "name": "prom", "url": "http://127.0.0.1:9"}])
    )
    prom = write(tmp_path, "prom.yml", PROM)
    out = tmp_path / "pulse.yml"
    assert main(["rules", "import", str(prom), "--source", "prom", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "prom.yml:4: group 'node', rule 'instance:cpu:rate5m': recording rules are not imported" in err
    assert "imported 1 alerting rule(s) in 1 group(s); skipped 1 recording rule(s)" in err
    assert "no prometheus source named" not in err
    doc = yaml.safe_load(out.read_text())
    (r,) = doc["groups"][0]["rules"]
    assert r == {
        "alert": "NodeDown",
        "promql": 'up{job="node"} == 0',
        "source": "prom",
        "for": "2m",
        "severity": "critical",
        "annotations": {"summary": "{{ $labels.instance }} is down"},
    }
    # the imported file is a Pulse rule file, and exporting it gives the PromQL back
    (rs_group,) = load_rule_file(out).groups
    assert rs_group.rules[0].promql == 'up{job="node"} == 0'
    again = tmp_path / "again.yml"
    assert main(["rules", "export", str(out), "-o", str(again)]) == 0
    exported = yaml.safe_load(again.read_text())["groups"][0]["rules"][0]
    assert exported["expr"] == 'up{job="node"} == 0'
    assert exported["labels"] == {"severity": "critical"}


def test_import_to_stdout_notes_an_unknown_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prom = write(tmp_path, "prom.yml", PROM)
    assert main(["rules", "import", str(prom), "--source", "later"]) == 0
    captured = capsys.readouterr()
    assert "source: later" in captured.out
    assert "no prometheus source named 'later' is configured yet" in captured.err


def test_import_a_malformed_prometheus_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prom = write(tmp_path, "prom.yml", PROM.replace("for: 2m", "for: two minutes"))
    assert main(["rules", "import", str(prom), "--source", "prom"]) == 1
    assert (
        "prom.yml:6: group 'node', rule 'NodeDown': for: bad duration 'two minutes'"
        in capsys.readouterr().err
    )


def test_import_needs_a_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["rules", "import", "x.yml"])
    assert exc.value.code == 2
    assert "--source" in capsys.readouterr().err
