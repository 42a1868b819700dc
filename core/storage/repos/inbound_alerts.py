"""Inbound alert states (Alertmanager webhook deliveries): upserts into ``alert_states``.

Unlike :func:`core.storage.repos.alert_states.save_states`, which replaces a rule's states after an
evaluation, a delivery only names the alerts it carries: each is upserted by (rule, fingerprint)
and a transition is appended only when its state changes, so Alertmanager's periodic re-sends
leave the history untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.kernel.records.alerts import AlertState, Transition
from core.storage.engine import storage_errors
from core.storage.repos.alert_states import state_row, write_transitions
from core.storage.schema import alert_states
from core.storage.upsert import upsert

INBOUND_PREFIX = "inbound/"
_CHUNK = 500


class _Prev(NamedTuple):
    state: str
    active_at_ms: int
    resolved_at_ms: int | None


def _stored(conn: Connection, states: Sequence[AlertState]) -> dict[tuple[str, str], _Prev]:
    """(rule, fingerprint) -> the stored row these states would replace."""
    c = alert_states.c
    by_rule: dict[str, list[str]] = {}
    for s in states:
        by_rule.setdefault(s.rule, []).append(s.fingerprint)
    out: dict[tuple[str, str], _Prev] = {}
    for rule, fps in by_rule.items():
        for i in range(0, len(fps), _CHUNK):
            q = sa.select(c.fingerprint, c.state, c.active_at_ms, c.resolved_at_ms).where(
                c.rule == rule, c.fingerprint.in_(fps[i : i + _CHUNK])
            )
            for fp, state, active_at, resolved_at in conn.execute(q):
                out[(rule, fp)] = _Prev(state, active_at, resolved_at)
    return out


def _stale(s: AlertState, prev: _Prev | None, prune_before_ms: int | None) -> bool:
    """A delivery that would move an alert back in time: a late copy, or long resolved."""
    if prev is None:  # resolved before the retention window and never seen firing
        return (
            s.state == "resolved"
            and prune_before_ms is not None
            and s.resolved_at_ms is not None
            and s.resolved_at_ms < prune_before_ms
        )
    if s.state == "firing" and prev.state == "resolved" and prev.resolved_at_ms is not None:
        return s.active_at_ms <= prev.resolved_at_ms  # firing again has a newer startsAt
    if s.state == "resolved" and prev.state == "firing" and s.resolved_at_ms is not None:
        return s.resolved_at_ms < prev.active_at_ms  # ended before the firing we hold began
    return False


def _transition(s: AlertState, frm: str) -> Transition:
    at = s.resolved_at_ms if s.state == "resolved" and s.resolved_at_ms is not None else s.active_at_ms
    return Transition(s.rule, s.fingerprint, s.labels, frm, s.state, at, s.value)


def save_inbound(
    engine: Engine, states: Sequence[AlertState], prune_before_ms: int | None = None
) -> list[Transition]:
    """Upsert delivered states in one transaction; return the transitions appended.

    - a new or changed state appends a transition (from ``inactive`` when the alert was
      unknown), dated at the alert's own start (firing) or end (resolved);
    - a delivery that would move an alert back in time is ignored: a firing copy that started
      no later than the stored resolution (firing again has a newer ``startsAt``), or a
      resolution that ended before the stored firing began;
    - with ``prune_before_ms``, inbound alerts resolved before it are deleted, and a resolved
      alert older than that which Pulse never saw is not stored at all.
    """
    latest = {(s.rule, s.fingerprint): s for s in states}  # one row per key, the last wins
    rows: list[dict[str, Any]] = []
    moves: list[Transition] = []
    with storage_errors("saving inbound alerts"), engine.begin() as conn:
        stored = _stored(conn, list(latest.values()))
        for key, s in latest.items():
            prev = stored.get(key)
            if _stale(s, prev, prune_before_ms):
                continue
            if prev is None or prev.state != s.state:
                moves.append(_transition(s, "inactive" if prev is None else prev.state))
            rows.append(state_row(s))
        for i in range(0, len(rows), 1000):
            upsert(conn, alert_states, rows[i : i + 1000], ["rule", "fingerprint"])
        write_transitions(conn, moves)
        if prune_before_ms is not None:
            c = alert_states.c
            conn.execute(
                sa.delete(alert_states).where(
                    c.rule.startswith(INBOUND_PREFIX, autoescape=True),
                    c.state == "resolved",
                    c.resolved_at_ms < prune_before_ms,
                )
            )
    return moves
