"""The alert state machine with plain numbers for time (Prometheus' semantics)."""

from __future__ import annotations

from core.alerts.state import Active, advance
from core.kernel.records.alerts import RESOLVED_RETENTION_MS, AlertState

FP = "f1"
ON = {FP: Active({"alertname": "X", "host": "h1"}, {"summary": "s"}, 0.95)}


def run(timeline: list[tuple[int, bool]], for_ms: int = 0, keep_ms: int = 0) -> list[tuple[int, str, str]]:
    """Feed (time, condition holds) steps; return the transitions as (time, from, to)."""
    states: dict[str, AlertState] = {}
    seen = []
    for t, on in timeline:
        states, moves = advance("g/X", states, ON if on else {}, t, for_ms, keep_ms)
        seen += [(m.at_ms, m.from_state, m.to_state) for m in moves]
    return seen


def test_for_zero_fires_at_once_and_resolves_when_the_condition_stops() -> None:
    assert run([(0, True), (10, True), (20, False)]) == [
        (0, "inactive", "pending"),
        (0, "pending", "firing"),
        (20, "firing", "resolved"),
    ]


def test_pending_until_for_has_passed_then_firing() -> None:
    steps = [(t, True) for t in range(0, 70, 10)]
    assert run(steps, for_ms=60) == [(0, "inactive", "pending"), (60, "pending", "firing")]


def test_a_pending_alert_that_stops_holding_goes_back_to_inactive_and_never_fires() -> None:
    assert run([(0, True), (30, True), (40, False), (50, True)], for_ms=60) == [
        (0, "inactive", "pending"),
        (40, "pending", "inactive"),
        (50, "inactive", "pending"),  # the for timer starts over
    ]


def test_keep_firing_for_damps_flapping() -> None:
    flapping = [(0, True), (10, False), (20, True), (30, False), (40, False), (50, False), (60, False)]
    assert run(flapping, keep_ms=25) == [
        (0, "inactive", "pending"),
        (0, "pending", "firing"),
        (50, "firing", "resolved"),  # last held at 20: resolved at the first evaluation 25+ later
    ]
    assert len(run(flapping)) == 6  # without it: fire, resolve, fire again, resolve


def test_resolved_alerts_are_kept_a_while_then_dropped_and_can_fire_again() -> None:
    states: dict[str, AlertState] = {}
    states, _ = advance("g/X", states, ON, 0, 0, 0)
    states, _ = advance("g/X", states, {}, 10, 0, 0)
    assert states[FP].state == "resolved" and states[FP].resolved_at_ms == 10
    states, _ = advance("g/X", states, {}, 10 + RESOLVED_RETENTION_MS - 1, 0, 0)
    assert FP in states
    again, moves = advance("g/X", states, ON, 20 + RESOLVED_RETENTION_MS, 0, 0)
    assert [(m.from_state, m.to_state) for m in moves] == [("resolved", "pending"), ("pending", "firing")]
    assert again[FP].active_at_ms == 20 + RESOLVED_RETENTION_MS
    gone, _ = advance("g/X", states, {}, 10 + RESOLVED_RETENTION_MS, 0, 0)
    assert gone == {}


def test_values_and_annotations_follow_the_latest_evaluation_but_timers_do_not_reset() -> None:
    states, _ = advance("g/X", {}, ON, 0, 60, 0)
    later = {FP: Active(ON[FP].labels, {"summary": "now 0.99"}, 0.99)}
    states, moves = advance("g/X", states, later, 30, 60, 0)
    assert moves == [] and states[FP].value == 0.99 and states[FP].annotations == {"summary": "now 0.99"}
    assert states[FP].active_at_ms == 0
