"""Priority: one number from severity and impact that orders alerts and incidents.

    score = W(severity) * (1 + sum over k of w_k * log2(1 + n_k))

``W`` is the weight of the highest severity (``severity_weights``: critical 100, warning 30,
info 10; an unknown severity weighs as warning); ``n_k`` is the number of distinct users, teams,
servers and hosts affected and ``w_k`` its weight (``impact_weights``: users 0.5, teams 1,
servers 0.25, hosts 0.5). The logarithm makes the first affected objects count most: one team more
matters, the 40th server less. The score maps to a level through ``priority_levels`` (P1 >= 500,
P2 >= 250, P3 >= 100, P4 >= 50, else P5).

Examples with the defaults: a warning on one host scores 30 * (1 + 0.5) = 45 (P5); a critical
server of one user and team on one host 100 * (1 + 0.5 + 1 + 0.25 + 0.5) = 325 (P2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from core.incidents.topology import Topology
from core.kernel.records.alerts import SEVERITIES
from core.kernel.records.incidents import Impact
from core.kernel.settings.incidents import IncidentSettings

IMPACT_LABELS = {"users": "user", "teams": "team", "servers": "server", "hosts": "host"}
T = TypeVar("T")


def severity_rank(severity: str) -> int:
    """0 for critical, 1 warning, 2 info, 3 anything else: sorts the worst first."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def worst_severity(severities: Iterable[str]) -> str:
    return min(severities, key=severity_rank, default="warning")


def impact_of(label_sets: Iterable[Mapping[str, str]], topology: Topology | None = None) -> Impact:
    """Distinct users, teams, servers and hosts named by the alerts; with a topology, an alert on a
    host (no server label) also affects the servers known on that host, and their users and teams."""
    found: dict[str, set[str]] = {k: set() for k in IMPACT_LABELS}
    for labels in label_sets:
        expanded = [labels, *(topology.members(labels) if topology is not None else [])]
        for lb in expanded:
            for kind, label in IMPACT_LABELS.items():
                if lb.get(label):
                    found[kind].add(lb[label])
    return Impact(**{k: tuple(sorted(v)) for k, v in found.items()})


def score(severity: str, impact: Impact, settings: IncidentSettings) -> float:
    weights = settings.severity_weights
    w_sev = weights.get(severity, weights.get("warning", 30.0))
    counts = impact.counts()
    boost = sum(w * math.log2(1 + counts.get(k, 0)) for k, w in settings.impact_weights.items())
    return round(w_sev * (1 + boost), 1)


def level(value: float, settings: IncidentSettings) -> str:
    """``P1``.. for the first threshold ``value`` reaches; one past the last level below them all."""
    ordered = sorted(settings.priority_levels.items(), key=lambda kv: -kv[1])
    for name, lowest in ordered:
        if value >= lowest:
            return name
    return f"P{len(ordered) + 1}"


def alert_priority(
    labels: Mapping[str, str], settings: IncidentSettings, topology: Topology | None = None
) -> float:
    """The score of one alert on its own (severity label, its own impact)."""
    return score(labels.get("severity", "warning"), impact_of([labels], topology), settings)


def by_priority(
    items: Sequence[T], score_of: Callable[[T], float], started_ms: Callable[[T], int]
) -> list[T]:
    """Highest score first; ties: the earliest started first (then the input order)."""
    return sorted(items, key=lambda x: (-score_of(x), started_ms(x)))
