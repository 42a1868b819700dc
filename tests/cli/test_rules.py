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
    assert f"{prom}: OK, 1 group(s), 1 alerting rule(s) (0 Pulse, 1 PromQL), 1 recording rule(s)" in out
    assert f"{DEFAULT}: OK, 3 group(s), 13 alerting rule(s)" in out


def test_check_names_the_line_and_rule_of_every_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, good = write(tmp_path, "bad.yml", BAD), write(tmp_path, "good.yml", PULSE)
    assert main(["rules", "check", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"{good}: OK" in captured.out
    # a template Pulse cannot render is a warning on its rule, not an error of the file
    assert (
        f"  warning: {bad}:6: group 'hosts', rule 'BadTemplate': annotations.summary: template: "
        '__alert_BadTemplate:1: function "shout" not defined' in captured.out
    )
    assert f"{bad}:10: group 'hosts', rule 'BadSelector': query: bad selector" in captured.err
    assert "BadTemplate" not in captured.err and "Good" not in captured.err
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
    assert f"wrote 3 rule(s) in 2 group(s) to {out}" in capsys.readouterr().err  # one recording rule
    promtool_check(out)
    every = [r for g in yaml.safe_load(out.read_text())["groups"] for r in g["rules"]]
    assert [r["record"] for r in every if "record" in r] == ["instance:cpu:rate5m"]
    rules = {r["alert"]: r for r in every if "alert" in r}
    assert rules["NodeDown"]["expr"] == 'up{job="node"} == 0'
    assert rules["CpuHigh"]["for"] == "10m"
    assert 'ALERTS{alertname="CpuHigh", alertstate="firing"' in rules["CpuHigh"]["expr"]


def test_export_refuses_bad_files_and_clashing_group_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "bad.yml", BAD)
    assert main(["rules", "export", str(bad)]) == 1
    assert "bad.yml:10: group 'hosts', rule 'BadSelector'" in capsys.readouterr().err
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
    assert "imported 1 alerting rule(s) and 1 recording rule(s) in 1 group(s)" in err
    assert "no prometheus source named" not in err
    doc = yaml.safe_load(out.read_text())
    rec, r = doc["groups"][0]["rules"]
    assert rec == {
        "record": "instance:cpu:rate5m",
        "expr": "rate(node_cpu_seconds_total[5m])",
        "source": "prom",
    }
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
    exported = yaml.safe_load(again.read_text())["groups"][0]["rules"]
    assert exported[0] == {"record": "instance:cpu:rate5m", "expr": "rate(node_cpu_seconds_total[5m])"}
    assert exported[1]["expr"] == 'up{job="node"} == 0'
    assert exported[1]["labels"] == {"severity": "critical"}


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


def test_import_without_a_source_evaluates_on_pulses_own_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prom = write(tmp_path, "prom.yml", PROM)
    assert main(["rules", "import", str(prom)]) == 0
    captured = capsys.readouterr()
    assert "evaluated on Pulse's own store" in captured.out
    assert "source:" not in captured.out and "no prometheus source named" not in captured.err


RULEFILES = Path(__file__).parents[1] / "core" / "alerts" / "rulefiles"  # community-style rule files


def test_check_parses_promql_and_reports_every_error_of_every_rule_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = write(
        tmp_path,
        "one.yml",
        "groups:\n  - name: node\n    rules:\n"
        "      - alert: Unclosed\n        expr: sum(rate(node_cpu_seconds_total[5m]) by (instance)\n"
        "      - alert: Fine\n        expr: up == 0\n"
        '      - alert: TwoErrors\n        expr: up{job="node"\n        for: later\n',
    )
    two = write(
        tmp_path, "two.yml", "groups:\n  - name: db\n    rules:\n      - alert: X\n        expr: rate(x[5m]\n"
    )
    assert main(["rules", "check", str(one), str(two), str(RULEFILES / "node_mixin.yml")]) == 1
    captured = capsys.readouterr()
    assert f"pulse: error: {one}: 3 error(s):" in captured.err
    assert (
        f"{one}:4: group 'node', rule 'Unclosed': expr: invalid PromQL: unclosed left parenthesis"
        in captured.err
    )
    assert (
        f"{one}:8: group 'node', rule 'TwoErrors': expr: invalid PromQL: unexpected end of input"
        in captured.err
    )
    assert f"{one}:8: group 'node', rule 'TwoErrors': for: bad duration 'later'" in captured.err
    assert f"{two}:4: group 'db', rule 'X': expr: invalid PromQL: unclosed left parenthesis" in captured.err
    assert "Fine" not in captured.err
    assert "2 of 3 file(s) have errors" in captured.err
    assert (
        f"{RULEFILES / 'node_mixin.yml'}: OK, 2 group(s), 5 alerting rule(s) (0 Pulse, 5 PromQL)"
        in captured.out
    )


@pytest.mark.parametrize("name", ["node_mixin.yml", "awesome.yml", "blocks.yml", "templates_zoo.yml"])
def test_community_rule_files_pass_check_and_import(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = RULEFILES / name
    assert main(["rules", "check", str(path)]) == 0
    assert "warning" not in capsys.readouterr().out
    out = tmp_path / "pulse.yml"
    assert main(["rules", "import", str(path), "--source", "prom", "-o", str(out)]) == 0
    assert load_rule_file(out).rules >= 1


def test_import_then_export_keeps_the_file_equivalent_for_promtool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = RULEFILES / "roundtrip.yml"
    imported, exported = tmp_path / "pulse.yml", tmp_path / "roundtrip.yml"
    assert main(["rules", "import", str(original), "--source", "prom", "-o", str(imported)]) == 0
    assert main(["rules", "export", str(imported), "-o", str(exported)]) == 0
    src = yaml.safe_load(original.read_text())["groups"]
    for doc in (yaml.safe_load(imported.read_text()), yaml.safe_load(exported.read_text())):
        # a group without interval gains none (Prometheus' global evaluation_interval applies)
        assert [g.get("interval") for g in doc["groups"]] == [g.get("interval") for g in src]
    every = [r for g in yaml.safe_load(exported.read_text())["groups"] for r in g["rules"]]
    exp = {r["alert"]: r for r in every if "alert" in r}
    assert exp["DiskAlmostFull"]["labels"] == {"severity": "page", "team": "storage"}
    # the original's promtool unit test passes against the export
    (tmp_path / "roundtrip.test.yml").write_text((RULEFILES / "roundtrip.test.yml").read_text())
    require_binary(PROMTOOL, "prometheus")
    done = subprocess.run(
        [PROMTOOL, "test", "rules", "roundtrip.test.yml"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr + exported.read_text()


def test_the_daemon_loads_a_prometheus_rule_file_whose_templates_it_cannot_render(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from core.kernel.settings import Settings
    from core.runtime.alerting import load_rules

    path = write(
        tmp_path,
        "odd.yml",
        "groups:\n  - name: odd\n    rules:\n      - alert: Odd\n        expr: up == 0\n"
        "        annotations: {summary: '{{ $value | shout }}', ok: '{{ $value | printf \"%.1f\" }}'}\n",
    )
    settings = Settings.model_validate(
        {"alerting": {"default_rules": False, "prometheus_rule_files": [{"path": str(path), "source": "p"}]}}
    )
    rs = load_rules(settings)
    assert [r.alert for g in rs.groups for r in g.rules] == ["Odd"]
    assert len(rs.warnings) == 1 and 'function "shout" not defined' in rs.warnings[0]
    assert rs.groups[0].every(settings.alerting.evaluation_interval_s) == 60


def test_import_counts_recording_rules_apart_from_template_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prom = write(
        tmp_path,
        "prom.yml",
        PROM.replace('"{{ $labels.instance }} is down"', '"{{ $labels.instance | shout }} is down"'),
    )
    assert main(["rules", "import", str(prom), "--source", "prom", "-o", str(tmp_path / "out.yml")]) == 0
    err = capsys.readouterr().err
    assert "rule 'NodeDown': annotations.summary: template: __alert_NodeDown:1: function \"shout\"" in err
    assert "imported 1 alerting rule(s) and 1 recording rule(s) in 1 group(s)" in err
