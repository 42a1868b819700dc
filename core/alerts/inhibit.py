"""Inhibition (Alertmanager's ``inhibit_rules``): a firing source alert mutes matching targets.

A target alert is muted while an alert matching ``source_matchers`` fires with the same values
for the ``equal`` labels (an absent label counts as empty). An alert is never muted by itself,
and an alert that matches both sides is not muted by others that also match both (so a rule
like "critical mutes warning of the same host" cannot make two alerts mute each other).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.alerts.matchers import matches, parse_matchers
from core.alerts.model import Alert
from core.storage.selector import Matcher


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


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    @classmethod
    def of(cls, cfg: InhibitRuleSettings) -> InhibitRule:
        return cls(parse_matchers(cfg.source_matchers), parse_matchers(cfg.target_matchers), tuple(cfg.equal))


DEFAULT_INHIBIT_RULES = [
    # a host that is down takes its MCP servers with it: page about the host, not each server
    InhibitRuleSettings(
        source_matchers=['alertname="HostDown"'],
        target_matchers=['alertname=~"McpServerDown|McpTool.*|McpServerMemoryNearLimit"'],
        equal=["host"],
    ),
]


def inhibitor(rules: Sequence[InhibitRule], alert: Alert, firing: Iterable[Alert]) -> Alert | None:
    """The firing alert that mutes ``alert``, or None."""
    labels = alert.labels
    for rule in rules:
        if not matches(rule.target, labels):
            continue
        both = matches(rule.source, labels)
        for src in firing:
            if src.status != "firing" or src.fingerprint == alert.fingerprint:
                continue
            if not matches(rule.source, src.labels) or (both and matches(rule.target, src.labels)):
                continue
            if all(_get(src.labels, k) == _get(labels, k) for k in rule.equal):
                return src
    return None


def _get(labels: Mapping[str, str], key: str) -> str:
    return labels.get(key, "")
