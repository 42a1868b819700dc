"""Recording rules, as Prometheus runs them: ``expr`` evaluated at each cycle of the group, every
series of the result written to the store under the name ``record`` (the result's ``__name__``
dropped, the rule's ``labels`` set over the result's), at the cycle's time.

A series the rule returned at the last cycle and not at this one gets Prometheus' stale marker,
so queries stop seeing it at once instead of after the 5-minute lookback. Two series that are
the same once ``__name__`` is dropped are an error of the rule for that cycle (Prometheus:
"vector contains metrics with the same labelset after applying rule labels"); nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.kernel.samples import STALE_NAN, Labels, Sample, labels_of

_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class RecordingRule(BaseModel):
    """One recording rule: ``record``, ``expr`` (PromQL), optional ``labels`` and ``source``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    record: str = Field(description="Name of the series written (a metric name, colons allowed)")
    expr: str = Field(description="PromQL evaluated at each cycle of the group")
    source: str | None = Field(
        None, description='The Prometheus source the expr is sent to (omitted or "pulse": Pulse\'s own store)'
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Labels set on every series written")

    @field_validator("record")
    @classmethod
    def _record(cls, v: str) -> str:
        if not _METRIC.match(v):
            raise ValueError(f"record {v!r} is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
        return v

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k in v if not _LABEL.match(k) or k == "__name__"]
        if bad:
            raise ValueError(f"invalid label name(s) {', '.join(map(repr, bad))}")
        return {k: str(x) for k, x in v.items()}


def recording_doc(rule: RecordingRule, pulse: bool) -> dict[str, object]:
    """The rule as a rule file's mapping; ``pulse``: with its ``source`` (Prometheus has none)."""
    out: dict[str, object] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        out["labels"] = dict(rule.labels)
    if pulse and rule.source is not None:
        out["source"] = rule.source
    return out


def recording_key(group: str, index: int, rule: RecordingRule) -> str:
    """Identity of a recording rule within its group (its place: records may repeat a name)."""
    return f"{group}/{rule.record}#r{index + 1}"


def recorded(
    rule: RecordingRule, elements: Iterable[tuple[Mapping[str, str], float]], at_ms: int, before: set[Labels]
) -> tuple[list[Sample], set[Labels]]:
    """The samples to write for one cycle's result, stale markers for the series of ``before``
    that are gone included, and the label sets written (the next cycle's ``before``)."""
    samples: list[Sample] = []
    seen: set[Labels] = set()
    for labels, value in elements:
        out = labels_of(**({k: v for k, v in labels.items() if k != "__name__"} | rule.labels))
        if out in seen:
            shown = "{" + ", ".join(f'{k}="{v}"' for k, v in out) + "}"
            raise ValueError(
                f"record {rule.record}: the result holds {shown} twice once __name__ is dropped"
                " and the rule's labels set (as Prometheus, nothing is written this cycle)"
            )
        seen.add(out)
        samples.append(Sample(rule.record, out, at_ms, value))
    samples += [Sample(rule.record, gone, at_ms, STALE_NAN) for gone in sorted(before - seen)]
    return samples, seen
