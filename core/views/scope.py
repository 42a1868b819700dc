"""Team scoping of every read the dashboards make.

The views read through a :class:`Reader` (``now_ms``, ``select``, ``series``). The pages hand
them :func:`scoped` of the Store and the signed-in user's team scope (``core.access.policy.team_scope``),
so a team lead's query for ``host_cpu_utilization_ratio`` or ``mcp_server_up{server="x"}``
reaches the store with one more matcher and returns only their teams' series:

* a metric whose series carry a ``team`` label gets ``team=~"a|b"``;
* a metric without ``team`` but with ``host`` (the host collector's) gets ``host=~"..."``: the
  hosts that run an MCP server (``mcp_server_up``) of one of the teams;
* any other metric (Pulse's own, say) matches nothing.

An empty scope matches nothing at all. Matchers are ANDed with the view's own filters, so a
filter naming another team selects nothing instead of widening the scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal, Protocol

import polars as pl

from core.kernel.selector import Matcher, Selector, parse_selector

NOTHING = r"[^\x00-\x{10FFFF}]"  # an RE2 regex that matches no value, not even the empty one
INVENTORY = "mcp_server_up"  # the series that say which host runs which team's servers
Kind = Literal["team", "host", "none"]


class Reader(Protocol):
    """The read side of a Store that the views use."""

    def now_ms(self) -> int: ...

    def select(self, selector: str | Selector, start_ms: int, end_ms: int, **kw: Any) -> pl.DataFrame: ...

    def series(self, selector: str | Selector) -> pl.DataFrame: ...


def any_of(values: Iterable[str]) -> str:
    """A fully anchored regex alternative of literal values (NOTHING when there are none)."""
    vals = sorted(set(values))
    return "|".join(re.escape(v) for v in vals) if vals else NOTHING


class ScopedReader:
    """A Reader that narrows every selector to the series of ``teams``."""

    def __init__(self, store: Reader, teams: Iterable[str]) -> None:
        self._store = store
        self.teams = frozenset(teams)
        self._kinds: dict[str, Kind] = {}
        self._hosts: frozenset[str] | None = None

    def now_ms(self) -> int:
        return self._store.now_ms()

    def select(self, selector: str | Selector, start_ms: int, end_ms: int, **kw: Any) -> pl.DataFrame:
        return self._store.select(self.restrict(selector), start_ms, end_ms, **kw)

    def series(self, selector: str | Selector) -> pl.DataFrame:
        return self._store.series(self.restrict(selector))

    def restrict(self, selector: str | Selector) -> Selector:
        sel = parse_selector(selector) if isinstance(selector, str) else selector
        kind = self.kind(sel.metric)
        if kind == "team":
            extra = Matcher("team", "=~", any_of(self.teams))
        elif kind == "host":
            extra = Matcher("host", "=~", any_of(self.hosts()))
        else:
            extra = Matcher("team", "=~", NOTHING)
        return Selector(sel.metric, (*sel.matchers, extra))

    def kind(self, metric: str) -> Kind:
        """How series of ``metric`` are tied to a team: by label, through their host, or not at all."""
        if metric not in self._kinds:
            found = self._store.series(Selector(metric))
            labels = found["labels"].to_list() if not found.is_empty() else []
            if any("team" in lb for lb in labels):
                self._kinds[metric] = "team"
            elif any("host" in lb for lb in labels):
                self._kinds[metric] = "host"
            else:
                self._kinds[metric] = "none"
        return self._kinds[metric]

    def hosts(self) -> frozenset[str]:
        """Hosts running an MCP server of one of the teams."""
        if self._hosts is None:
            if self.teams:
                inv = self._store.series(Selector(INVENTORY, (Matcher("team", "=~", any_of(self.teams)),)))
                labels = inv["labels"].to_list() if not inv.is_empty() else []
                self._hosts = frozenset(lb["host"] for lb in labels if lb.get("host"))
            else:
                self._hosts = frozenset()
        return self._hosts


def scoped(store: Reader, teams: Iterable[str] | None) -> Reader:
    """``store`` as the views should read it for a user whose team scope is ``teams`` (None: all)."""
    return store if teams is None else ScopedReader(store, teams)
