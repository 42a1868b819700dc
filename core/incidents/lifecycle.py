"""The incident state machine: triggered -> acknowledged -> resolved, with reopen; assignee, notes.

Pure: each function takes an incident and returns the changed incident and the timeline events to
append, or raises :class:`IncidentError` with a message saying what to do instead.

    triggered    --acknowledge--> acknowledged --resolve--> resolved
    triggered    --resolve------> resolved
    resolved     --reopen-------> triggered   (by hand, or a member alert firing again within
                                               ``reopen_window_s``)

``acked_ms`` keeps the *first* acknowledgement (MTTA); reopening clears ``resolved_ms`` so MTTR
runs to the final resolution. Assigning and notes are allowed in every state (post-incident work).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.kernel.errors import IncidentError
from core.kernel.records.alerts import rfc3339
from core.kernel.records.incidents import SYSTEM_ACTOR, Event, Incident, MemberAlert
from core.kernel.settings.incidents import IncidentSettings

MAX_NOTE = 10_000
MAX_NAME = 200


def _who(actor: str, what: str = "actor") -> str:
    actor = (actor or "").strip()
    if not actor:
        raise IncidentError(f"an {what} is required: say who does this")
    if len(actor) > MAX_NAME:
        raise IncidentError(f"{what} {actor[:40]!r}... is longer than {MAX_NAME} characters")
    return actor


def _ref(inc: Incident) -> str:
    return f"incident {inc.id}" if inc.id is not None else f"incident {inc.key}"


def acknowledge(inc: Incident, actor: str, now_ms: int) -> tuple[Incident, list[Event]]:
    actor = _who(actor)
    if inc.state == "acknowledged":
        raise IncidentError(
            f"{_ref(inc)} is already acknowledged by {inc.acked_by} at {rfc3339(inc.acked_ms)}"
        )
    if inc.state == "resolved":
        raise IncidentError(f"{_ref(inc)} is resolved; reopen it before acknowledging")
    new = replace(
        inc,
        state="acknowledged",
        acked_ms=inc.acked_ms if inc.acked_ms is not None else now_ms,
        acked_by=actor,
        updated_ms=now_ms,
    )
    return new, [Event("ack", now_ms, actor, f"acknowledged by {actor}")]


def resolve(inc: Incident, actor: str, now_ms: int, reason: str = "") -> tuple[Incident, list[Event]]:
    actor = _who(actor)
    if inc.state == "resolved":
        raise IncidentError(
            f"{_ref(inc)} is already resolved (by {inc.resolved_by} at {rfc3339(inc.resolved_ms)})"
        )
    text = f"resolved by {actor}" + (f": {reason.strip()}" if reason.strip() else "")
    new = replace(inc, state="resolved", resolved_ms=now_ms, resolved_by=actor, updated_ms=now_ms)
    return new, [Event("resolve", now_ms, actor, text, {"from": inc.state})]


def reopen(inc: Incident, actor: str, now_ms: int, reason: str = "") -> tuple[Incident, list[Event]]:
    actor = _who(actor)
    if inc.state != "resolved":
        raise IncidentError(f"{_ref(inc)} is {inc.state}, not resolved: only a resolved incident reopens")
    text = f"reopened by {actor}" + (f": {reason.strip()}" if reason.strip() else "")
    new = replace(inc, state="triggered", resolved_ms=None, resolved_by=None, updated_ms=now_ms)
    return new, [Event("reopen", now_ms, actor, text, {"resolved_ms": inc.resolved_ms})]


def assign(inc: Incident, assignee: str | None, actor: str, now_ms: int) -> tuple[Incident, list[Event]]:
    actor = _who(actor)
    who = _who(assignee, "assignee") if assignee is not None else None
    if who == inc.assignee:
        raise IncidentError(f"{_ref(inc)} is already {'assigned to ' + who if who else 'unassigned'}")
    text = f"assigned to {who} by {actor}" if who else f"unassigned by {actor}"
    new = replace(inc, assignee=who, updated_ms=now_ms)
    return new, [Event("assign", now_ms, actor, text, {"from": inc.assignee, "to": who})]


def note(inc: Incident, actor: str, text: str, now_ms: int) -> Event:
    actor = _who(actor)
    body = (text or "").strip()
    if not body:
        raise IncidentError("a note needs text")
    if len(body) > MAX_NOTE:
        raise IncidentError(f"a note is limited to {MAX_NOTE} characters ({len(body)} given)")
    return Event("note", now_ms, actor, body)


def auto_resolution(
    inc: Incident, alerts: Sequence[MemberAlert], settings: IncidentSettings, now_ms: int
) -> tuple[Incident, list[Event]] | None:
    """Resolved by Pulse when every alert resolved (and ``auto_resolve`` is on), at the time the last
    one resolved; None when the incident stays open."""
    if not settings.auto_resolve or not inc.is_open or not alerts:
        return None
    if any(a.state == "firing" for a in alerts):
        return None
    at = max((a.resolved_ms for a in alerts if a.resolved_ms is not None), default=now_ms)
    at = max(at, inc.opened_ms)
    new = replace(inc, state="resolved", resolved_ms=at, resolved_by=SYSTEM_ACTOR, updated_ms=now_ms)
    return new, [Event("resolve", at, SYSTEM_ACTOR, "all alerts resolved", {"from": inc.state, "auto": True})]
