"""Settings of inhibition (``[[alerting.inhibit_rules]]``) and the default rules."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.kernel.matchers import parse_matchers


class InhibitRuleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_matchers: list[str] = Field(min_length=1)
    target_matchers: list[str] = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)

    @field_validator("source_matchers", "target_matchers")
    @classmethod
    def _parse(cls, v: list[str]) -> list[str]:
        parse_matchers(v)
        return v


DEFAULT_INHIBIT_RULES = [
    # a host that is down takes its MCP servers with it: page about the host, not each server
    InhibitRuleSettings(
        source_matchers=['alertname="HostDown"'],
        target_matchers=['alertname=~"McpServerDown|McpTool.*|McpServerMemoryNearLimit"'],
        equal=["host"],
    ),
]
