"""Recommendation states as one user may see and change them (``core.optimization.marks``, audited
as this user from the UI), and the measured before/after of an applied one."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import polars as pl

from core.admin import audit
from core.kernel.records.audit import AuditEntry
from core.kernel.records.recommendations import RecommendationEvent
from core.optimization.impact import ImpactSettings
from core.optimization.marks import Marks
from core.optimization.settings import PriceSettings
from core.storage.repos.recommendations import RecommendationRepo
from core.storage.tsdb import Store

if TYPE_CHECKING:
    from core.seam.console import Console


def marks_of(console: Console, store: Store) -> Marks:
    """The lifecycle as ``console``'s user may change it, each change audited as that user."""

    def entry(
        action: str, oid: str, at: int, before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> AuditEntry:
        return audit.entry(console.actor, action, oid, at, before, after)

    return Marks(RecommendationRepo(store.engine), console.reader, console.principal, console.now_ms, entry)


class Recommendations:
    def __init__(self, console: Console, store: Store) -> None:
        self._c = console
        self._store = store

    @cached_property
    def _marks(self) -> Marks:
        return marks_of(self._c, self._store)

    def mark(
        self, kind: str, subject: str, state: str, reason: str = "", until_ms: int | None = None
    ) -> RecommendationEvent:
        """Record a change of state by the signed-in user (LifecycleError / PermissionDenied say why)."""
        return self._marks.mark(kind, subject, state, reason, until_ms)

    def states(self) -> pl.DataFrame:
        """The latest state of every recommendation the user may see (a snooze past its end is open)."""
        return self._marks.states()

    def history(self, key: str) -> list[RecommendationEvent]:
        return self._marks.history(key)

    def impact(
        self, key: str, settings: ImpactSettings | None = None, prices: PriceSettings | None = None
    ) -> pl.DataFrame:
        """Before vs after the latest "applied" of ``key`` (``Marks.impact``)."""
        return self._marks.impact(key, settings, prices)
