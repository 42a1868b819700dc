"""Alert rule state and transitions: the only SQL of the alerting state (see core.alerts.state).

States are written back after every evaluation (only the rules that changed), so a restart
resumes with the same pending timers and firing alerts instead of starting over.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.kernel.records.alerts import AlertState, Transition
from core.storage.engine import storage_errors
from core.storage.schema import alert_states, alert_transitions
from core.storage.upsert import upsert


def state_row(s: AlertState) -> dict[str, Any]:
    return {
        "rule": s.rule,
        "fingerprint": s.fingerprint,
        "labels": json.dumps(dict(s.labels), sort_keys=True),
        "annotations": json.dumps(dict(s.annotations), sort_keys=True),
        "state": s.state,
        "active_at_ms": s.active_at_ms,
        "fired_at_ms": s.fired_at_ms,
        "resolved_at_ms": s.resolved_at_ms,
        "last_active_ms": s.last_active_ms,
        "value": s.value,
    }


def load_states(engine: Engine, prefix: str | None = None) -> dict[str, dict[str, AlertState]]:
    """Every stored state (of the rules whose key starts with ``prefix``), by rule, then fingerprint."""
    out: dict[str, dict[str, AlertState]] = {}
    q = sa.select(alert_states)
    if prefix is not None:
        q = q.where(alert_states.c.rule.startswith(prefix, autoescape=True))
    with storage_errors("reading alert states"), engine.connect() as conn:
        for r in conn.execute(q).mappings():
            s = AlertState(
                r["rule"],
                r["fingerprint"],
                json.loads(r["labels"]),
                json.loads(r["annotations"]),
                r["state"],
                r["active_at_ms"],
                r["fired_at_ms"],
                r["resolved_at_ms"],
                r["last_active_ms"],
                r["value"],
            )
            out.setdefault(s.rule, {})[s.fingerprint] = s
    return out


def save_states(
    engine: Engine,
    rules: Iterable[str],
    states: Sequence[AlertState],
    transitions: Sequence[Transition],
) -> None:
    """Replace the stored states of ``rules`` with ``states`` and append the transitions, atomically."""
    rules = list(rules)
    with storage_errors("saving alert states"), engine.begin() as conn:
        for i in range(0, len(rules), 500):
            conn.execute(sa.delete(alert_states).where(alert_states.c.rule.in_(rules[i : i + 500])))
        rows = [state_row(s) for s in states]
        for i in range(0, len(rows), 1000):
            upsert(conn, alert_states, rows[i : i + 1000], ["rule", "fingerprint"])
        write_transitions(conn, transitions)


def write_transitions(conn: Connection, transitions: Sequence[Transition]) -> None:
    """Append transitions to the history (in the caller's transaction)."""
    if not transitions:
        return
    conn.execute(
        sa.insert(alert_transitions),
        [
            {
                "rule": t.rule,
                "fingerprint": t.fingerprint,
                "labels": json.dumps(dict(t.labels), sort_keys=True),
                "from_state": t.from_state,
                "to_state": t.to_state,
                "at_ms": t.at_ms,
                "value": t.value,
            }
            for t in transitions
        ],
    )


TRANSITION_SCHEMA = {
    "rule": pl.Utf8,
    "fingerprint": pl.Utf8,
    "labels": pl.Utf8,
    "from_state": pl.Utf8,
    "to_state": pl.Utf8,
    "at_ms": pl.Int64,
    "value": pl.Float64,
}


def read_transitions(engine: Engine, start_ms: int, end_ms: int, rule: str | None = None) -> pl.DataFrame:
    t = alert_transitions.c
    q = sa.select(t.rule, t.fingerprint, t.labels, t.from_state, t.to_state, t.at_ms, t.value).where(
        t.at_ms >= start_ms, t.at_ms < end_ms
    )
    if rule is not None:
        q = q.where(t.rule == rule)
    with storage_errors("reading alert transitions"), engine.connect() as conn:
        rows = conn.execute(q.order_by(t.at_ms, t.id)).all()
    return pl.DataFrame(rows, schema=TRANSITION_SCHEMA, orient="row")
