"""The alert state machine, Prometheus' semantics: inactive -> pending -> firing -> resolved.

Pure: :func:`advance` takes a rule's current states, the label sets whose condition holds now
(with their values) and the time, and returns the new states plus the transitions it made. It
never reads a clock or a database, so every timer is tested with plain numbers.

- a label set whose condition holds becomes ``pending`` (``active_at`` = now), and ``firing``
  once it has held for ``for`` (at once when ``for`` is 0);
- a pending label set whose condition stops holding is dropped (pending -> inactive);
- a firing one stays firing while ``keep_firing_for`` has not passed since it last held, then
  becomes ``resolved``; resolved states are kept ``RESOLVED_RETENTION_MS`` so the resolution is
  notified, then dropped; holding again starts a new pending period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from core.kernel.records.alerts import RESOLVED_RETENTION_MS, AlertState, Transition


@dataclass(frozen=True)
class Active:
    """A label set whose condition holds now."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    value: float | None


def advance(
    rule: str,
    states: Mapping[str, AlertState],
    active: Mapping[str, Active],
    now_ms: int,
    for_ms: int,
    keep_firing_for_ms: int,
) -> tuple[dict[str, AlertState], list[Transition]]:
    """One evaluation of one rule. Keys of both mappings are alert fingerprints."""
    out: dict[str, AlertState] = {}
    moves: list[Transition] = []

    def move(s: AlertState, frm: str) -> None:
        moves.append(Transition(rule, s.fingerprint, s.labels, frm, s.state, now_ms, s.value))

    for fp, a in active.items():
        prev = states.get(fp)
        if prev is None or prev.state == "resolved":
            s = AlertState(rule, fp, a.labels, a.annotations, "pending", now_ms, None, None, now_ms, a.value)
            move(s, "inactive" if prev is None else "resolved")
        else:
            s = replace(
                prev, labels=a.labels, annotations=a.annotations, last_active_ms=now_ms, value=a.value
            )
        if s.state == "pending" and now_ms - s.active_at_ms >= for_ms:
            frm = s.state
            s = replace(s, state="firing", fired_at_ms=now_ms)
            move(s, frm)
        out[fp] = s

    for fp, prev in states.items():
        if fp in active:
            continue
        if prev.state == "pending":
            moves.append(Transition(rule, fp, prev.labels, "pending", "inactive", now_ms, prev.value))
        elif prev.state == "firing":
            if keep_firing_for_ms and now_ms - prev.last_active_ms < keep_firing_for_ms:
                out[fp] = prev
            else:
                s = replace(prev, state="resolved", resolved_at_ms=now_ms)
                move(s, "firing")
                out[fp] = s
        elif prev.resolved_at_ms is not None and now_ms - prev.resolved_at_ms < RESOLVED_RETENTION_MS:
            out[fp] = prev  # resolved: kept a while so the resolution reaches the receivers
    return out, moves
