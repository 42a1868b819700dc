"""The lifecycle of a recommendation: one append-only event per change of state.

A recommendation is known by ``key`` (its kind and what it is about, e.g. ``rightsizing:srv-a``
or ``database:<ddl>``); its current state is that of its latest event. ``open`` is the state of
a recommendation without events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RecommendationState = Literal["open", "applied", "dismissed", "snoozed"]
RECOMMENDATION_STATES: tuple[RecommendationState, ...] = ("open", "applied", "dismissed", "snoozed")


@dataclass(frozen=True)
class RecommendationEvent:
    key: str
    kind: str
    subject: str  # the server, table or host it is about (for the measured before/after)
    team: str  # "" when it belongs to no team (a database, a host)
    state: RecommendationState
    reason: str
    username: str
    at_ms: int
    until_ms: int | None = None  # snoozed until
    id: int | None = None
