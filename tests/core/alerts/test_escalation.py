"""Escalation steps with plain numbers: notify, wait, next step, repeat, stop on acknowledgement."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.alerts.escalation import advance, start
from core.kernel.settings.escalation import EscalationPolicy

MIN = 60_000
POLICY = EscalationPolicy.model_validate(
    {
        "name": "core-oncall",
        "steps": [
            {"channels": ["slack"], "wait": "5m"},
            {"channels": ["pager"], "users": ["ana"], "wait": "10m"},
        ],
        "repeat": 1,
    }
)


def run(until_min: int, ack_at_min: int | None = None) -> list[tuple[int, list[str]]]:
    state, out = start(7, "core-oncall", 0), []
    for m in range(until_min + 1):
        state, step = advance(state, POLICY, m * MIN, stopped=ack_at_min is not None and m >= ack_at_min)
        if step is not None:
            out.append((m, step.channels + step.users))
    return out


def test_steps_follow_their_waits_and_the_policy_repeats_once() -> None:
    assert run(120) == [
        (0, ["slack"]),
        (5, ["pager", "ana"]),
        (15, ["slack"]),  # repeat: 1 -> a second round
        (20, ["pager", "ana"]),
    ]


def test_an_acknowledgement_stops_the_escalation() -> None:
    assert run(120, ack_at_min=7) == [(0, ["slack"]), (5, ["pager", "ana"])]
    assert run(120, ack_at_min=0) == []


def test_policies_are_validated() -> None:
    with pytest.raises(ValidationError, match="at least one channel or user"):
        EscalationPolicy.model_validate({"name": "p", "steps": [{"wait": "5m"}]})
    with pytest.raises(ValidationError, match="bad duration"):
        EscalationPolicy.model_validate({"name": "p", "steps": [{"channels": ["x"], "wait": "five"}]})
    with pytest.raises(ValidationError):
        EscalationPolicy.model_validate({"name": "p", "steps": []})


def test_settings_check_policy_and_channel_names() -> None:
    from core.kernel.settings.alerting import AlertingSettings

    with pytest.raises(ValidationError, match="escalation policies nope that are not defined"):
        AlertingSettings.model_validate({"route": {"escalation": "nope"}})
    with pytest.raises(ValidationError, match="receivers ghost .* are not channels"):
        AlertingSettings.model_validate(
            {"escalations": [{"name": "p", "steps": [{"channels": ["ghost"]}]}], "route": {"escalation": "p"}}
        )
