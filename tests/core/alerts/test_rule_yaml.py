"""One rule's YAML: written without defaults and read back equal; errors name the line and field."""

from __future__ import annotations

from core.alerts.rule_yaml import read_rule, rule_text
from core.alerts.rules import Rule


def test_a_rule_round_trips_through_its_text() -> None:
    rule = Rule.model_validate(
        {"alert": "CpuHigh", "query": 'host_cpu{team="a"}', "window": "10m", "threshold": 0.9, "for": "5m",
         "severity": "critical", "labels": {"team": "a"},
         "annotations": {"runbook_url": "https://runbooks/cpu", "summary": "{{ $labels.host }} is busy"}}
    )  # fmt: skip
    text = rule_text(rule)
    assert "for: 5m" in text and "window: 10m" in text and "op:" not in text  # defaults left out
    parsed = read_rule(text)
    assert parsed.errors == [] and parsed.rule == rule


def test_errors_name_the_line_and_the_field() -> None:
    bad = read_rule("alert: CpuHigh\nquery: host_cpu\nthreshold: lots\nseverity: loud\n", "rule")
    assert bad.rule is None
    assert "rule:3: threshold: Input should be a valid number" in bad.errors[0]
    assert bad.errors[1].startswith("rule:4: severity: severity 'loud' is not one of")
    assert read_rule("alert: X\nquery: g{\n").errors[0].startswith("rule:1: query: ")
    syntax = read_rule("alert: X\nquery: [g\nthreshold: 1\n").errors
    assert syntax[0].startswith("rule:3: not valid YAML")
    assert read_rule("- alert: X\n").errors == ["rule:1: a rule is a mapping (alert: ..., query: ..., ...)"]
    both = read_rule("alert: X\nquery: g\npromql: up\n").errors
    assert both == ["rule:1: give exactly one of query (a Pulse selector) or promql"]
    assert (
        read_rule("alert: X\nquery: g\nwindoww: 5m\n").errors[0].startswith("rule:3: windoww: Extra inputs")
    )


def test_the_group_interval_travels_with_the_rule_text() -> None:
    rule = Rule(alert="A", query="g")
    text = rule_text(rule, 90)
    assert text.endswith("group_interval: 1m30s\n")
    parsed = read_rule(text)
    assert parsed.rule == rule and parsed.interval_s == 90 and parsed.errors == []
    assert read_rule(rule_text(rule)).interval_s is None
    assert read_rule("alert: A\nquery: g\ngroup_interval: 1\n").interval_s == 1
    bad = read_rule("alert: A\nquery: g\nthreshold: x\ngroup_interval: 0.5\n")
    assert bad.rule is None and bad.errors[1] == (
        "rule:4: group_interval: a duration from 1s to 1d (e.g. 30s, 2m), not 0.5"
    )
