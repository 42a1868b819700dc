"""core.alerts.rule_form: a rule's YAML read into the Alert rules form's fields and written back
gives the same rule (group_interval included), and what the form has no field for is named."""

from __future__ import annotations

import pytest

from core.alerts.rule_form import DEFAULTS, fields_of, text_of
from core.alerts.rule_yaml import read_rule

FULL = (
    'alert: DiskFull\nquery: host_disk_utilization_ratio{mountpoint="/data"}\nwindow: 10m\n'
    "condition: change\nop: '>='\nthreshold: 0.25\nfor: 1h30m\nseverity: critical\n"
    "labels:\n  team: core\n  tier: '1'\nannotations:\n  summary: '{{ $labels.host }} is full'\n"
    "  runbook_url: https://runbooks/disk\ngroup_interval: 2m\n"
)


def test_every_field_of_a_rule_is_read_into_the_form() -> None:
    opened = fields_of(FULL)
    assert opened is not None and opened.left_out == ()
    assert opened.fields == {
        "alert": "DiskFull", "kind": "Metric", "metric": 'host_disk_utilization_ratio{mountpoint="/data"}',
        "expr": "", "condition": "change", "op": ">=", "threshold": 0.25, "window": "10m",
        "for": "1h30m", "group_interval": "2m", "severity": "critical", "team": "core",
        "runbook": "https://runbooks/disk", "labels": "tier=1", "annotations": "summary={{ $labels.host }} is full",
    }  # fmt: skip
    assert set(opened.fields) == set(DEFAULTS)


@pytest.mark.parametrize(
    "text",
    [
        FULL,
        "alert: Up\nquery: host_up\nwindow: 5m\ncondition: absent\nseverity: info\n",
        "alert: P\npromql: sum(rate(x_total[5m])) > 1\nfor: 30s\nseverity: warning\ngroup_interval: 15s\n",
        "alert: NoFor\nquery: host_up\nwindow: 1m\nop: <\nthreshold: 1\nseverity: warning\n",
    ],
)
def test_read_then_written_back_is_the_same_rule_and_interval(text: str) -> None:
    opened = fields_of(text)
    assert opened is not None
    before, after = read_rule(text), read_rule(text_of(opened.fields))
    assert after.errors == [] and after.rule == before.rule
    assert after.interval_s == before.interval_s


def test_what_the_form_cannot_hold_is_named() -> None:
    text = (
        "alert: X\nquery: host_up\nover: min\nby: [host]\nacross: max\ncondition: forecast\n"
        "keep_firing_for: 5m\nseverity: warning\nannotations:\n  description: |\n    two\n    lines\n"
    )
    opened = fields_of(text)
    assert opened is not None
    assert set(opened.left_out) == {
        "over",
        "by",
        "across",
        "keep_firing_for",
        "condition",
        "annotations.description",
    }
    assert opened.fields["condition"] == "threshold" and opened.fields["annotations"] == ""


def test_a_text_that_is_no_rule_gives_nothing() -> None:
    assert fields_of("alert: [") is None
    assert fields_of("alert: X\nthreshold: lots\n") is None
