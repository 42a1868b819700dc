"""Alerting rules: what to query, when it is a problem, for how long, and what to say.

A Pulse rule queries the embedded store (a selector, an aggregation over a window, optionally
across series ``by`` labels) or, with ``promql``, PromQL (on Pulse's store or a Prometheus source); its condition is
a threshold, ``absent``, a rate of change or an anomaly score. Rules live in groups; each group
has its evaluation interval (else the global one, as in Prometheus). The file format mirrors Prometheus rule files (``groups:`` ->
``rules:`` with ``alert``, ``for``, ``keep_firing_for``, ``labels``, ``annotations``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from core.alerts.recording import RecordingRule
from core.kernel.errors import QueryError
from core.kernel.records.alerts import SEVERITIES
from core.kernel.selector import parse_selector
from core.kernel.settings.durations import Seconds
from core.storage.tsdb.query import Across, OverTime

Op = Literal[">", "<", ">=", "<=", "==", "!="]
ConditionKind = Literal["threshold", "absent", "change", "anomaly", "predict", "forecast", "anomaly_score"]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

OPS = {
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


class Rule(BaseModel):
    """One alerting rule. Durations are seconds or Prometheus durations ("5m", "1h30m")."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    alert: str = Field(description="Alert name (the alertname label)")
    query: str | None = Field(None, description='Pulse selector, e.g. host_cpu_utilization_ratio{team="a"}')
    promql: str | None = Field(
        None, description="PromQL, evaluated by Pulse on its own store or a Prometheus source"
    )
    source: str | None = Field(
        None,
        description='The Prometheus source a promql rule is sent to (omitted or "pulse": Pulse\'s own store)',
    )
    over: OverTime = Field("avg", description="Aggregation of each series over the window")
    window_s: Seconds = Field(
        300, gt=0, le=30 * 86_400, alias="window", description="Window the aggregation covers"
    )
    across: Across | None = Field(None, description="Aggregation across series, keeping the `by` labels")
    by: tuple[str, ...] = ()
    quantile: float = Field(0.95, ge=0, le=1)
    divide_by: str | None = Field(
        None, description="A second selector, aggregated the same way; the value is query / divide_by"
    )
    min_divisor: float = Field(
        0,
        ge=0,
        description="Label sets whose divide_by value is below this are skipped (e.g. too little traffic)",
    )
    condition: ConditionKind = "threshold"
    op: Op = ">"
    threshold: float = 0.0
    resolve_threshold: float | None = Field(
        None, description="Hysteresis: a firing alert resolves only once the value is past this"
    )
    change_window_s: Seconds = Field(
        3600,
        gt=0,
        alias="change_window",
        description="condition=change: the value is compared with this long ago (relative)",
    )
    baseline_s: Seconds = Field(
        7 * 86_400, gt=0, alias="baseline", description="condition=anomaly: history the score uses"
    )
    horizon_s: Seconds = Field(
        86_400,
        gt=0,
        le=365 * 86_400,
        alias="horizon",
        description="condition=predict or forecast: how far ahead the trend or the forecast looks",
    )
    for_s: Seconds = Field(0, ge=0, le=7 * 86_400, alias="for")
    keep_firing_for_s: Seconds = Field(0, ge=0, le=7 * 86_400, alias="keep_firing_for")
    severity: str = "warning"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    # the n-th rule of its group with this alert name and these labels (0: the first); set by
    # RuleGroup, not read from files: it keeps such rules' states apart (see ``rule_key``)
    _ordinal: int = PrivateAttr(0)

    @property
    def ordinal(self) -> int:
        return self._ordinal

    @field_validator("alert")
    @classmethod
    def _name(cls, v: str) -> str:
        # Prometheus takes any label value as an alert name ("JvmNon-heapMemoryFillingUp",
        # "MysqlTooManyConnections(>80%)" in community rule packs); only control characters are
        # refused here, as they would break log lines and notification subjects.
        if not v.strip():
            raise ValueError("alert name is empty")
        if _CONTROL.search(v):
            raise ValueError(f"alert name {v!r} holds a control character (a newline or tab)")
        return v

    @field_validator("severity")
    @classmethod
    def _severity(cls, v: str) -> str:
        if v not in SEVERITIES:
            raise ValueError(f"severity {v!r} is not one of {', '.join(SEVERITIES)}")
        return v

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k in v if not _LABEL.match(k) or k.startswith("__")]
        if bad:
            raise ValueError(f"invalid label name(s) {', '.join(map(repr, bad))}")
        return v

    @model_validator(mode="after")
    def _query(self) -> Rule:
        if (self.query is None) == (self.promql is None):
            raise ValueError("give exactly one of query (a Pulse selector) or promql")
        for name in ("query", "divide_by"):
            text = getattr(self, name)
            if text is not None:
                try:
                    parse_selector(text)
                except QueryError as exc:
                    raise ValueError(f"{name}: {exc}") from exc
        if self.divide_by is not None and self.condition in (
            "predict",
            "anomaly",
            "forecast",
            "anomaly_score",
        ):
            raise ValueError(
                f"divide_by works with the threshold, change and absent conditions, not {self.condition}"
            )
        if self.promql is not None and (self.condition != "threshold" or self.divide_by):
            raise ValueError("a promql rule is its own condition: leave condition and divide_by out")
        return self

    def holds(self, value: float, firing: bool) -> bool:
        """Whether ``value`` meets the condition; a firing alert is held to ``resolve_threshold``."""
        threshold = (
            self.resolve_threshold if firing and self.resolve_threshold is not None else self.threshold
        )
        return bool(OPS[self.op](value, threshold))


class RuleGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    interval_s: Seconds | None = Field(
        None,
        ge=1,
        le=86_400,
        alias="interval",
        description="How often the group is evaluated; none: alerting.evaluation_interval_s, as Prometheus'"
        " global evaluation_interval",
    )
    rules: tuple[Rule, ...] = ()
    recording: tuple[RecordingRule, ...] = Field(
        (), description="Recording rules, evaluated before the group's alerting rules at each cycle"
    )

    def every(self, default_s: float) -> float:
        """The group's evaluation interval in seconds (its own, else the default)."""
        return default_s if self.interval_s is None else self.interval_s

    @model_validator(mode="after")
    def _ordinals(self) -> RuleGroup:
        """Number the rules that share an alert name and labels. Prometheus evaluates each of
        them (mixins ship one rule per severity under one name: etcd's, CoreDNS',
        Alertmanager's), so they are kept, each a copy told apart by its ordinal."""
        seen: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        numbered = []
        for r in self.rules:
            key = (r.alert, tuple(sorted(r.labels.items())))
            n = seen[key] = seen.get(key, -1) + 1
            if n or r.ordinal:
                r = r.model_copy()
                r._ordinal = n
            numbered.append(r)
        object.__setattr__(self, "rules", tuple(numbered))  # frozen: set once, while validated
        return self


def rule_metrics(groups: Iterable[RuleGroup]) -> dict[str, str]:
    """alertname -> the selector its rule queries (PromQL rules have none: their charts are omitted)."""
    out: dict[str, str] = {}
    for g in groups:
        for r in g.rules:
            if r.query is not None:
                out.setdefault(r.alert, r.query)
    return out
