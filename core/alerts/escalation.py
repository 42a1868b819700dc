"""Escalation policies: notify, wait, notify the next step, ... until someone acknowledges.

A policy is a list of steps, each naming channels (and users, reached by email at the address in
their account) and how long to wait before the next step; after the last step the policy starts
over ``repeat`` more times. An incident's escalation stops as soon as it is acknowledged or
resolved. :func:`advance` is pure: it takes the escalation's state and the time, and says which
step to notify now and when to look again.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.alerts.durations import Seconds
from core.sources.common import NAME_PATTERN


class EscalationStep(BaseModel):
    channels: list[str] = Field(default_factory=list, description="Channel names notified at this step")
    users: list[str] = Field(default_factory=list, description="Usernames emailed at this step")
    wait_s: Seconds = Field(600, ge=0, alias="wait", description="Wait before the next step")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _someone(self) -> EscalationStep:
        if not self.channels and not self.users:
            raise ValueError("a step notifies at least one channel or user")
        return self


class EscalationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    steps: list[EscalationStep] = Field(min_length=1)
    repeat: int = Field(0, ge=0, le=100, description="Times the whole policy runs again after the last step")


@dataclass(frozen=True)
class EscalationState:
    incident_id: int
    policy: str
    step: int  # the next step to notify
    round: int  # 0 on the first pass
    next_ms: int  # when that step is due
    done: bool = False


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
