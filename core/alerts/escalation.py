"""Escalation policies: notify, wait, notify the next step, ... until someone acknowledges.

A policy is a list of steps, each naming channels (and users, reached by email at the address in
their account) and how long to wait before the next step; after the last step the policy starts
over ``repeat`` more times. An incident's escalation stops as soon as it is acknowledged or
resolved. :func:`advance` is pure: it takes the escalation's state and the time, and says which
step to notify now and when to look again.
"""

from __future__ import annotations

from core.kernel.records.notifications import EscalationState
from core.kernel.settings.escalation import EscalationPolicy, EscalationStep


def start(incident_id: int, policy: str, now_ms: int) -> EscalationState:
    return EscalationState(incident_id, policy, 0, 0, now_ms)


def advance(
    state: EscalationState, policy: EscalationPolicy, now_ms: int, stopped: bool
) -> tuple[EscalationState, EscalationStep | None]:
    """The state after ``now_ms`` and the step to notify now (None: nothing is due, or it stopped)."""
    if state.done:
        return state, None
    if stopped:
        return EscalationState(
            state.incident_id, state.policy, state.step, state.round, state.next_ms, True
        ), None
    if now_ms < state.next_ms:
        return state, None
    step = policy.steps[state.step]
    nxt, rnd = state.step + 1, state.round
    done = False
    if nxt >= len(policy.steps):
        nxt, rnd = 0, rnd + 1
        done = rnd > policy.repeat
    new = EscalationState(state.incident_id, state.policy, nxt, rnd, now_ms + int(step.wait_s * 1000), done)
    return new, step
