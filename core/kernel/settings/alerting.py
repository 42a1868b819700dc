"""Settings of alerting (``[alerting]`` in pulse.toml): rule files, channels, routes, inhibitions."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.kernel.settings.channels import ChannelSettings, RetrySettings
from core.kernel.settings.durations import Seconds
from core.kernel.settings.escalation import EscalationPolicy
from core.kernel.settings.inbound import InboundSettings
from core.kernel.settings.incidents import IncidentSettings
from core.kernel.settings.inhibit import DEFAULT_INHIBIT_RULES, InhibitRuleSettings
from core.kernel.settings.routing import RouteSettings


class PrometheusRuleFile(BaseModel):
    """A Prometheus alerting-rule file: its PromQL evaluated on Pulse's own store or a prometheus source."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    source: str | None = Field(
        None,
        description='Name of the prometheus source its PromQL is sent to (omitted or "pulse": Pulse\'s own store)',
    )


class AlertingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    enabled: bool = Field(True, description="Evaluate rules and send notifications in `pulse collect`")
    default_rules: bool = Field(True, description="Load Pulse's default rule pack for the MCP platform")
    rule_files: list[Path] = Field(default_factory=list, description="Pulse rule files (YAML)")
    prometheus_rule_files: list[PrometheusRuleFile] = Field(default_factory=list)
    channels: list[ChannelSettings] = Field(default_factory=list)
    route: RouteSettings = Field(
        default_factory=RouteSettings, description="The routing tree; its receivers are channel names"
    )
    inhibit_rules: list[InhibitRuleSettings] = Field(default_factory=lambda: list(DEFAULT_INHIBIT_RULES))
    escalations: list[EscalationPolicy] = Field(
        default_factory=list, description="Escalation policies; routes name them with `escalation`"
    )
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    inbound: InboundSettings = Field(
        default_factory=InboundSettings, description="Alertmanager webhook deliveries into Pulse"
    )
    retry: RetrySettings = Field(default_factory=RetrySettings)
    evaluation_interval_s: Seconds = Field(
        60,
        ge=1,
        le=86_400,
        description="Evaluation interval of rule groups that set no `interval` (Prometheus' global"
        " evaluation_interval, 1m by default)",
    )
    notify_interval_s: Seconds = Field(
        1, ge=0.2, le=300, description="How often groups are checked for a flush (and retries for their time)"
    )
    external_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Prometheus' global external_labels as rule templates see them ($externalLabels)",
    )
    external_url: str = Field(
        "http://127.0.0.1:8501", description="Where people open Pulse; links in notifications point here"
    )

    @model_validator(mode="after")
    def _references(self) -> AlertingSettings:
        names = [c.name for c in self.channels]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"channel names must be unique; repeated: {', '.join(dup)}")
        unknown: set[str] = set()
        policies = {p.name for p in self.escalations}
        missing: set[str] = set()
        stack = [self.route]
        while stack:
            r = stack.pop()
            unknown |= set(r.receivers or ()) - set(names)
            if r.escalation is not None and r.escalation not in policies:
                missing.add(r.escalation)
            stack.extend(r.routes)
        for p in self.escalations:
            for step in p.steps:
                unknown |= set(step.channels) - set(names)
        if missing:
            raise ValueError(
                f"routes name escalation policies {', '.join(sorted(missing))} that are not defined; "
                f"defined: {', '.join(sorted(policies)) or 'none'}"
            )
        if unknown:
            raise ValueError(
                f"receivers {', '.join(sorted(unknown))} (in routes or escalation steps) are not channels; "
                f"configured channels: {', '.join(names) or 'none'}"
            )
        return self
