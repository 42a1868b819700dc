"""Pulse's template rendering against Prometheus' own: promtool (Go text/template and Prometheus'
function map) must expect exactly the annotations Pulse renders for tests/core/alerts/rulefiles.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from core.alerts.templates import render
from tests.promstack import PROMTOOL, require_binary

RULEFILES = Path(__file__).with_name("rulefiles")
EXTERNAL_URL = "http://pulse.example:9090/prom"
EXTERNAL_LABELS = {"region": "eu"}
SERIES = [
    ({"instance": "db-1.example.com:9100", "job": "node", "service": "api"}, 0.91234),
    ({"instance": "10.0.0.7:9100", "job": "node"}, 1234567.891),
]


def _promtool_test(
    tmp_path: Path, rule_file: Path, tests: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    require_binary(PROMTOOL, "prometheus")
    (tmp_path / "rules.yml").write_text(rule_file.read_text())
    (tmp_path / "test.yml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yml"], **tests}, sort_keys=False)
    )
    return subprocess.run(
        [PROMTOOL, "test", "rules", "test.yml"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )


def test_every_template_feature_renders_as_prometheus_renders_it(tmp_path: Path) -> None:
    rule = yaml.safe_load((RULEFILES / "templates_zoo.yml").read_text())["groups"][0]["rules"][0]
    expected = []
    for labels, value in SERIES:

        def r(text: str, lb: dict[str, str] = labels, v: float = value) -> str:
            return render(text, lb, v, EXTERNAL_URL, rule="Zoo", external_labels=EXTERNAL_LABELS, now_s=0)

        metric = {"__name__": "zoo_value", **labels}  # $labels: the sample's labels, as in Prometheus
        alert_labels = {**labels, **{k: r(v, metric) for k, v in rule["labels"].items()}}
        notes = {k: r(v, metric) for k, v in rule["annotations"].items()}
        assert notes["failing"] == (
            "<error expanding template: error executing template __alert_Zoo: template: __alert_Zoo:1:129:"
            ' executing "__alert_Zoo" at <humanize>: error calling humanize: strconv.ParseFloat: parsing'
            ' "node": invalid syntax>'
        )
        expected.append({"exp_labels": alert_labels, "exp_annotations": notes})
    tests = {
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "external_labels": EXTERNAL_LABELS,
                "external_url": EXTERNAL_URL,
                "input_series": [
                    {
                        "series": "zoo_value{" + ",".join(f'{k}="{v}"' for k, v in lb.items()) + "}",
                        "values": f"{v}x5",
                    }
                    for lb, v in SERIES
                ],
                "alert_rule_test": [{"eval_time": "2m", "alertname": "Zoo", "exp_alerts": expected}],
            }
        ],
    }
    done = _promtool_test(tmp_path, RULEFILES / "templates_zoo.yml", tests)
    assert done.returncode == 0, f"Prometheus renders differently:\n{done.stdout[-8000:]}{done.stderr}"
