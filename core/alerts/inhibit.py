"""Inhibition (Alertmanager's ``inhibit_rules``): a firing source alert mutes matching targets.

A target alert is muted while an alert matching ``source_matchers`` fires with the same values
for the ``equal`` labels (an absent label counts as empty). An alert is never muted by itself,
and an alert that matches both sides is not muted by others that also match both (so a rule
like "critical mutes warning of the same host" cannot make two alerts mute each other).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from core.kernel.matchers import matches, parse_matchers
from core.kernel.records.alerts import Alert
from core.kernel.selector import Matcher
from core.kernel.settings.inhibit import InhibitRuleSettings


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    @classmethod
    def of(cls, cfg: InhibitRuleSettings) -> InhibitRule:
        return cls(parse_matchers(cfg.source_matchers), parse_matchers(cfg.target_matchers), tuple(cfg.equal))


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
