"""PromQL and series listings narrowed to a team, as the pages' :class:`ScopedReader` narrows views.

:class:`TeamSource` is a PromQL source (``core.promql.Source``) over the Store that adds, per
metric, the matcher :meth:`ScopedReader.restrict` adds: ``team=~...`` for metrics with a team
label, ``host=~...`` (the hosts running the teams' servers) for host metrics, nothing visible
otherwise. :func:`list_series` answers ``/api/v1/series`` and the label listings from the series
index (no samples read) with the same narrowing. Build one per request: kinds and hosts are cached.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from core.kernel.selector import Matcher, Selector
from core.promql.result import NAME, Labels
from core.promql.rollup_windows import Buckets
from core.promql.source import RawSeries, RollupSeries, StoreSource, matches
from core.views.scope import ScopedReader

if TYPE_CHECKING:
    from core.storage.tsdb.store import Store


class TeamSource:
    """The Store seen by a user of ``teams`` (None: everything, an admin)."""

    def __init__(self, store: Store, teams: Iterable[str] | None) -> None:
        self.store = store
        self.inner = StoreSource(store)
        self.scope = None if teams is None else ScopedReader(store, teams)

    def metric_names(self, name_matchers: Sequence[Matcher]) -> list[str]:
        equal = [m.value for m in name_matchers if m.op == "="]
        names = equal[:1] if equal else self.store.metrics()
        return [n for n in names if matches(name_matchers, {NAME: n})]

    def _narrowed(self, matchers: Sequence[Matcher]) -> list[Selector]:
        by_name = [m for m in matchers if m.label == NAME]
        others = tuple(m for m in matchers if m.label != NAME)
        out = []
        for metric in self.metric_names(by_name):
            sel = Selector(metric, others)
            out.append(sel if self.scope is None else self.scope.restrict(sel))
        return out

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[RawSeries]:
        out: list[RawSeries] = []
        for sel in self._narrowed(matchers):
            out += self.inner.select((Matcher(NAME, "=", sel.metric), *sel.matchers), start_ms, end_ms)
        return out

    def select_parts(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> Iterator[list[RawSeries]]:
        """As :meth:`select`, a part at a time (core.promql.source.select_parts), metric by metric."""
        for sel in self._narrowed(matchers):
            yield from self.inner.select_parts(
                (Matcher(NAME, "=", sel.metric), *sel.matchers), start_ms, end_ms
            )

    def select_rollup(
        self,
        matchers: Sequence[Matcher],
        width: int,
        start_ms: int,
        end_ms: int,
        intervals: list[tuple[int, int]],
    ) -> list[RollupSeries] | None:
        out: list[RollupSeries] = []
        for sel in self._narrowed(matchers):
            got = self.inner.select_rollup(
                (Matcher(NAME, "=", sel.metric), *sel.matchers), width, start_ms, end_ms, intervals
            )
            if got is None:
                return None
            out += got
        return out

    def select_buckets(
        self, matchers: Sequence[Matcher], width: int, start_ms: int, end_ms: int
    ) -> list[tuple[Labels, Buckets]] | None:
        """Rollup buckets alone (``core.promql.rollup_select``), narrowed as :meth:`select`."""
        out: list[tuple[Labels, Buckets]] = []
        for sel in self._narrowed(matchers):
            got = self.inner.select_buckets(
                (Matcher(NAME, "=", sel.metric), *sel.matchers), width, start_ms, end_ms
            )
            if got is None:
                return None
            out += got
        return out

    def series(self, matchers: Sequence[Matcher]) -> list[Labels]:
        """Label sets (with ``__name__``) of the series in the index matching ``matchers``."""
        out: list[Labels] = []
        for sel in self._narrowed(matchers):
            frame = self.store.series(sel)
            if not frame.is_empty():
                out += [{NAME: sel.metric, **lb} for lb in frame["labels"].to_list()]
        return out


def list_series(source: TeamSource, match: Sequence[Sequence[Matcher]], limit: int = 0) -> list[Labels]:
    """Union of the series of each ``match[]`` (all series when none), sorted, at most ``limit``."""
    sets = match or [(Matcher(NAME, "=~", ".+"),)]
    seen: dict[tuple[tuple[str, str], ...], Labels] = {}
    for matchers in sets:
        for lb in source.series(matchers):
            seen.setdefault(tuple(sorted(lb.items())), lb)
    out = [seen[k] for k in sorted(seen)]
    return out[:limit] if limit > 0 else out
