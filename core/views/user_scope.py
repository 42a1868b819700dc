"""Narrowing a Reader to one user's own series (a developer on the Usage page).

Wraps a Reader that is already team-scoped (``core.views.scope``), so both limits apply:

* a metric whose series carry a ``user`` label gets ``user="<name>"`` (matched literally);
* a metric without ``user`` but with ``server`` (tool calls, say) gets ``server=~"..."``: the MCP
  servers of that user's sessions, taken from the inventory (``mcp_server_up{user="<name>"}``);
* any other metric (team gauges such as ``platform_active_users``, hosts) matches nothing.

Matchers are ANDed with the caller's, so a filter naming another user or team selects nothing.
"""

from __future__ import annotations

from typing import Any, Literal

import polars as pl

from core.kernel.selector import Matcher, Selector, parse_selector
from core.views.scope import INVENTORY, NOTHING, Reader, any_of

UserKind = Literal["user", "server", "none"]


class UserScopedReader:
    """A Reader that returns only the series of ``user`` (within what ``inner`` may read)."""

    def __init__(self, inner: Reader, user: str) -> None:
        self._inner = inner
        self.user = user
        self._kinds: dict[str, UserKind] = {}
        self._servers: frozenset[str] | None = None

    def now_ms(self) -> int:
        return self._inner.now_ms()

    def select(self, selector: str | Selector, start_ms: int, end_ms: int, **kw: Any) -> pl.DataFrame:
        return self._inner.select(self.restrict(selector), start_ms, end_ms, **kw)

    def series(self, selector: str | Selector) -> pl.DataFrame:
        return self._inner.series(self.restrict(selector))

    def restrict(self, selector: str | Selector) -> Selector:
        sel = parse_selector(selector) if isinstance(selector, str) else selector
        kind = self.kind(sel.metric)
        if kind == "user":
            extra = Matcher("user", "=", self.user)
        elif kind == "server":
            extra = Matcher("server", "=~", any_of(self.servers()))
        else:
            extra = Matcher("user", "=~", NOTHING)
        return Selector(sel.metric, (*sel.matchers, extra))

    def kind(self, metric: str) -> UserKind:
        """How series of ``metric`` are tied to a user: by label, through their server, or not at all."""
        if metric not in self._kinds:
            found = self._inner.series(Selector(metric))
            labels = found["labels"].to_list() if not found.is_empty() else []
            if any("user" in lb for lb in labels):
                self._kinds[metric] = "user"
            elif any("server" in lb for lb in labels):
                self._kinds[metric] = "server"
            else:
                self._kinds[metric] = "none"
        return self._kinds[metric]

    def servers(self) -> frozenset[str]:
        """The MCP servers of the user's sessions (those the inner reader may see)."""
        if self._servers is None:
            inv = self._inner.series(Selector(INVENTORY, (Matcher("user", "=", self.user),)))
            labels = inv["labels"].to_list() if not inv.is_empty() else []
            self._servers = frozenset(lb["server"] for lb in labels if lb.get("server"))
        return self._servers


def user_scoped(reader: Reader, user: str | None) -> Reader:
    """``reader`` narrowed to ``user``'s own series (None: unchanged)."""
    return reader if user is None else UserScopedReader(reader, user)
