"""Correlation: which incident each new firing alert belongs to, or which new incidents open.

Pure and deterministic. An alert's *keys* are its values of the ``correlate_by`` labels plus,
through the topology, the host its server runs on. An alert belongs to a group (an open incident or
a forming one) when

- they share at least one key,
- the alert fired within ``correlation_window_s`` of the group's alerts
  (``first - window <= at <= last + window``), and
- the alert fired at most ``max_window_s`` after the group opened (an incident stops absorbing).

Alerts are taken in firing order (then fingerprint). An alert matching several open incidents goes
to the one sharing the most keys, then the most recently active, then the oldest. New alerts that
match no open incident form groups among themselves (alerts bridging two groups merge them); a
group opens an incident once it holds ``min_alerts`` alerts, otherwise its alerts wait.
An alert without any key never joins anything: it forms a group of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from core.incidents.topology import Key, Topology
from core.kernel.records.incidents import AlertIn
from core.kernel.settings.incidents import IncidentSettings


def alert_keys(labels: Mapping[str, str], settings: IncidentSettings, topology: Topology | None) -> set[Key]:
    keys = {(name, labels[name]) for name in settings.correlate_by if labels.get(name)}
    if topology is not None:
        keys |= topology.parent_keys(labels)
    return keys


@dataclass
class Group:
    """An open incident (``ref`` = its id) as correlation sees it."""

    ref: int
    keys: set[Key]
    opened_ms: int
    first_ms: int
    last_ms: int

    def accepts(self, at_ms: int, keys: set[Key], s: IncidentSettings) -> bool:
        window = s.correlation_window_s * 1000
        return (
            bool(self.keys & keys)
            and self.first_ms - window <= at_ms <= self.last_ms + window
            and at_ms - self.opened_ms <= s.max_window_s * 1000
        )

    def absorb(self, at_ms: int, keys: set[Key]) -> None:
        self.keys |= keys
        self.first_ms, self.last_ms = min(self.first_ms, at_ms), max(self.last_ms, at_ms)


@dataclass
class _Forming:
    alerts: list[AlertIn]
    keys: set[Key]
    first_ms: int
    last_ms: int

    def group(self) -> Group:
        return Group(-1, self.keys, self.first_ms, self.first_ms, self.last_ms)


@dataclass
class Assignment:
    joined: dict[str, int] = field(default_factory=dict)  # fingerprint -> incident id
    opened: list[list[AlertIn]] = field(default_factory=list)  # alerts of each new incident
    waiting: list[AlertIn] = field(default_factory=list)  # below min_alerts, kept for later


def correlate(
    groups: Iterable[Group],
    alerts: Sequence[AlertIn],
    settings: IncidentSettings,
    topology: Topology | None = None,
) -> Assignment:
    """Assign firing ``alerts`` (none of them already a member) to ``groups`` or new incidents."""
    open_groups = [Group(g.ref, set(g.keys), g.opened_ms, g.first_ms, g.last_ms) for g in groups]
    forming: list[_Forming] = []
    out = Assignment()
    for a in sorted((a for a in alerts if a.status == "firing"), key=lambda a: (a.at_ms, a.fingerprint)):
        keys = alert_keys(a.labels, settings, topology)
        fits = [g for g in open_groups if g.accepts(a.at_ms, keys, settings)]
        if fits:
            best = max(fits, key=lambda g: (len(g.keys & keys), g.last_ms, -g.ref))
            best.absorb(a.at_ms, keys)
            out.joined[a.fingerprint] = best.ref
            continue
        hits = [f for f in forming if f.group().accepts(a.at_ms, keys, settings)]
        if not hits:
            forming.append(_Forming([a], keys, a.at_ms, a.at_ms))
            continue
        into = hits[0]
        for other in hits[1:]:
            into.alerts += other.alerts
            into.keys |= other.keys
            into.first_ms, into.last_ms = min(into.first_ms, other.first_ms), max(into.last_ms, other.last_ms)
            forming.remove(other)
        into.alerts.append(a)
        into.keys |= keys
        into.first_ms, into.last_ms = min(into.first_ms, a.at_ms), max(into.last_ms, a.at_ms)
    for f in forming:
        members = sorted(f.alerts, key=lambda a: (a.at_ms, a.fingerprint))
        if len(members) >= settings.min_alerts:
            out.opened.append(members)
        else:
            out.waiting.extend(members)
    return out
