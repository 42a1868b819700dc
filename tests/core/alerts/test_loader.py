"""Rule files: the default pack loads; malformed files get errors naming file, line, group and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.alerts.loader import load_rule_file, parse_rules
from core.kernel.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = ROOT / "core" / "alerts" / "default_rules.yml"


def test_the_default_pack_loads_and_its_runbooks_exist() -> None:
    rs = load_rule_file(DEFAULT)
    names = {r.alert for g in rs.groups for r in g.rules}
    assert {"HostDown", "HostCPUHigh", "HostMemoryHigh", "HostDiskFullWithin24h", "McpServerDown"} <= names
    assert {
        "McpToolErrorRateHigh",
        "McpToolLatencyRegression",
        "PulseSourceDown",
        "PulseIngestLagging",
    } <= names
    for g in rs.groups:
        for r in g.rules:
            if url := r.annotations.get("runbook_url"):
                assert (ROOT / url).is_file(), url


GOOD_RULE = "      - alert: A\n        query: cpu\n        threshold: 1\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("groups: [\n", "r.yml:2: not valid YAML"),
        ("rules: []\n", "r.yml: a rule file is a mapping with a 'groups' list"),
        (
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        query: cpu{\n",
            "r.yml:4: group 'g', rule 'A': query: bad selector",
        ),
        (
            "groups:\n  - name: g\n    rules:\n"
            + GOOD_RULE
            + "      - alert: B\n        query: cpu\n        for: 5 minutes\n",
            "r.yml:7: group 'g', rule 'B': for: bad duration '5 minutes'",
        ),
        (
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        query: cpu\n        colour: red\n",
            "colour: Extra inputs are not permitted",
        ),
        (
            "groups:\n  - name: g\n    rules:\n" + GOOD_RULE + "  - name: g\n    rules: []\n",
            "r.yml:7: group 'g' appears twice",
        ),
        (
            "groups:\n  - name: g\n    interval: 0s\n    rules: []\n",
            "interval: Input should be greater than or equal to 1",
        ),
        (
            "groups:\n  - name: g\n    rules:\n      - just a string\n",
            "r.yml:4: group 'g', rule 1: a rule is a mapping",
        ),
    ],
)
def test_malformed_rule_files_name_file_line_group_and_rule(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_rules(text, "r.yml")
    assert expected in str(err.value)


def test_every_bad_rule_is_reported_not_only_the_first() -> None:
    text = 'groups:\n  - name: g\n    rules:\n      - alert: "bad\\tname"\n        query: a\n      - alert: B\n        query: a\n        severity: page\n'
    with pytest.raises(ConfigError) as err:
        parse_rules(text, "r.yml")
    assert "r.yml:4" in str(err.value) and "r.yml:6" in str(err.value) and "severity 'page'" in str(err.value)


def test_prometheus_rule_file_import() -> None:
    text = """groups:
  - name: node
    interval: 15s
    rules:
      - record: instance:cpu:rate5m
        expr: rate(node_cpu_seconds_total[5m])
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        keep_firing_for: 2m
        labels: {severity: critical, team: infra}
        annotations:
          summary: "Instance {{ $labels.instance }} down"
"""
    rs = parse_rules(text, "prom.yml", prometheus_source="prom-main")
    (rule,) = rs.groups[0].rules
    assert (rule.promql, rule.source, rule.severity, rule.for_s, rule.keep_firing_for_s) == (
        "up == 0",
        "prom-main",
        "critical",
        300,
        120,
    )
    assert rule.labels == {"team": "infra"} and rs.groups[0].interval_s == 15
    assert rs.warnings == []
    (rec,) = rs.groups[0].recording
    assert (rec.record, rec.expr, rec.source) == (
        "instance:cpu:rate5m",
        "rate(node_cpu_seconds_total[5m])",
        "prom-main",
    )


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "bin.yml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="cannot read rule file"):
        load_rule_file(tmp_path / "bin.yml")
    with pytest.raises(ConfigError, match="cannot read rule file"):
        load_rule_file(tmp_path / "missing.yml")


def test_promql_is_parsed_and_every_error_of_every_rule_is_reported() -> None:
    text = (
        "groups:\n  - name: g\n    rules:\n"
        "      - alert: Unclosed\n        expr: sum(rate(http_requests_total[5m])\n"
        "      - alert: Fine\n        expr: up == 0\n"
        "      - alert: Twice\n        expr: 'foo{job=\"x\"'\n        for: soon\n        labels: {severity: critical}\n"
        "  - name: h\n    rules:\n"
        "      - alert: Native\n        promql: rate(x[5m]\n        source: prom\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_rules(text, "r.yml", prometheus_source="prom")
    lines = str(err.value).splitlines()[1:]
    assert [line.strip() for line in lines] == [
        "r.yml:4: group 'g', rule 'Unclosed': expr: invalid PromQL: unclosed left parenthesis",
        "r.yml:8: group 'g', rule 'Twice': expr: invalid PromQL: unexpected end of input inside braces",
        "r.yml:8: group 'g', rule 'Twice': for: bad duration 'soon': use a number and a unit (ms, s, m, h, d, w), e.g. 15m or 1h30m",
        "r.yml:14: group 'h', rule 'Native': promql: invalid PromQL: unclosed left parenthesis",
    ]


def test_groups_without_interval_keep_none_and_follow_the_evaluation_interval() -> None:
    text = "groups:\n  - name: a\n    rules: []\n  - name: b\n    interval: 15s\n    rules: []\n"
    a, b = parse_rules(text, "r.yml").groups
    assert (a.interval_s, b.interval_s) == (None, 15)
    assert (a.every(60), b.every(60), a.every(120)) == (60, 15, 120)
