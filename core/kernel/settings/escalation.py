"""Settings of escalation policies (``[[alerting.escalations]]``): steps, waits, repeats."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.kernel.settings.durations import Seconds
from core.kernel.settings.sources.common import NAME_PATTERN


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
