from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.alerts.loader import load_rule_file, parse_rules
from core.alerts.templates import TemplateError, check_template, render

RULEFILES = Path(__file__).with_name("rulefiles")


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("CPU on {{ $labels.host }} at {{ $value }}", 0.5, "CPU on h1 at 0.5"),
        ("{{ .Labels.host }}/{{ .Value }}", 2.0, "h1/2"),
        ("{{ $value | humanizePercentage }}", 0.9234, "92.34%"),
        ("{{ $value | humanize }}", 1234567.0, "1.235M"),
        ("{{ $value | humanize }}", 0.0012, "1.2m"),
        ("{{ $value | humanize1024 }}", 3 * 1024**3, "3Gi"),
        ("{{ $value | humanizeDuration }}", 3725.0, "1h 2m 5s"),
        ('{{ printf "%.1f" $value }}', 0.25, "0.2"),
        ('{{ $value | printf "%.1f" }}', 0.25, "0.2"),
        ('{{ $value | printf "%.2f" }}%', 97.456, "97.46%"),
        ("{{ $labels.missing }}!", 1.0, "!"),
        ("{{- $labels.host -}}", 1.0, "h1"),
        ("{{ $externalURL }}/alerts", 1.0, "http://pulse/alerts"),
        ("{{ $value }}", 1234567.0, "1.234567e+06"),  # Go's %v, not Python's
        ("{{ with $labels.host }}on {{ . }}{{ end }}", 1.0, "on h1"),
        ("{{ range $k, $v := $labels }}{{ $k }}={{ $v }}{{ end }}", 1.0, "host=h1"),
        ("{{ if gt $value 0.9 }}high{{ else }}ok{{ end }}", 0.95, "high"),
        ("no template", 1.0, "no template"),
    ],
)
def test_render(text: str, value: float, expected: str) -> None:
    check_template(text)
    assert render(text, {"host": "h1"}, value, "http://pulse") == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ range $labels }}", "unexpected EOF"),
        ("{{ $value | shout }}", 'function "shout" not defined'),
        ("{{ $labels.host", "unclosed action"),
        ("{{ $lables.host }}", 'undefined variable "$lables"'),
        ("{{ end }}", "unexpected {{end}}"),
    ],
)
def test_check_template_names_what_prometheus_would_refuse(text: str, problem: str) -> None:
    with pytest.raises(TemplateError) as err:
        check_template(text, "R")
    assert problem in str(err.value) and "__alert_R" in str(err.value)


def test_a_template_that_fails_renders_prometheus_error_text_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = "{{ $labels.host | humanize }} / {{ $value }}"
    with caplog.at_level(logging.WARNING, "core.alerts.templates"):
        first = render(text, {"host": "h1"}, 1.0, rule="Once")
        second = render(text, {"host": "h1"}, 2.0, rule="Once")
    assert first.startswith("<error expanding template: ")
    assert 'error calling humanize: strconv.ParseFloat: parsing "h1": invalid syntax' in first
    assert second.startswith("<error expanding template: ")
    assert len([r for r in caplog.records if "Once" in r.getMessage()]) == 1
    assert render("{{ $value | shout }}", {}, 1.0, rule="Bad").startswith("<error expanding template: ")


@pytest.mark.parametrize("name", ["node_mixin.yml", "awesome.yml", "blocks.yml", "templates_zoo.yml"])
def test_community_style_rule_files_load_without_errors_or_warnings(name: str) -> None:
    rs = load_rule_file(RULEFILES / name, prometheus_source="prom")
    assert rs.rules >= 1
    assert [w for w in rs.warnings if "template" in w] == []


def test_a_bad_template_is_a_warning_on_its_rule_not_an_error_of_the_file() -> None:
    text = (
        "groups:\n  - name: g\n    rules:\n"
        "      - alert: Good\n        expr: up == 0\n"
        "        annotations: {summary: '{{ $value | printf \"%.1f\" }}'}\n"
        "      - alert: Shouting\n        expr: up == 0\n"
        "        annotations: {summary: '{{ $value | shout }}', other: '{{ $labels.job'}\n"
        "      - alert: Local\n        query: cpu\n        annotations: {top: '{{ query \"up\" | first | value }}'}\n"
    )
    rs = parse_rules(text, "r.yml", prometheus_source="prom")
    assert [r.alert for r in rs.groups[0].rules] == ["Good", "Shouting", "Local"]
    assert len(rs.warnings) == 3, rs.warnings
    shout, other, local = rs.warnings
    assert shout.startswith("r.yml:7: group 'g', rule 'Shouting': annotations.summary: ")
    assert 'function "shout" not defined' in shout and "promtool" in shout
    assert (
        other.startswith("r.yml:7: group 'g', rule 'Shouting': annotations.other: ")
        and "unclosed action" in other
    )
    assert local.startswith("r.yml:10: group 'g', rule 'Local': annotations.top: uses query")
