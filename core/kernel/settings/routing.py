"""Settings of the routing tree (``[alerting.route]``): receivers, matchers, grouping timers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.kernel.matchers import parse_matchers
from core.kernel.settings.durations import Seconds


class RouteSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    receivers: list[str] | None = Field(None, description="Channel names notified (inherited when unset)")
    matchers: list[str] = Field(default_factory=list, description='e.g. ["severity=\\"critical\\""]')
    group_by: list[str] | None = None
    group_wait_s: Seconds | None = Field(None, alias="group_wait")
    group_interval_s: Seconds | None = Field(None, alias="group_interval")
    repeat_interval_s: Seconds | None = Field(None, alias="repeat_interval")
    escalation: str | None = Field(None, description="Escalation policy of incidents from this route")
    continue_: bool = Field(False, alias="continue")
    routes: list[RouteSettings] = Field(default_factory=list)

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, v: list[str]) -> list[str]:
        parse_matchers(v)
        return v
