"""Usage and showback as one user may see them, and the snapshots an admin may take now.

The reader is the Console's team-scoped one, narrowed further to the user's own series when the
policy says so (a developer: ``core.access.policy.user_scope``). Filters a page passes (from its
widgets or the URL) are ANDed with that scope, so they can only narrow it.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from core.access import policy
from core.access.policy import Action
from core.kernel.errors import PermissionDenied
from core.kernel.settings.prices import PriceSettings
from core.runtime.snapshots import Taken, take
from core.storage.tsdb import Store
from core.usage import Basis, UsageReport, usage_report
from core.views import Filters, Reader
from core.views.user_scope import user_scoped

if TYPE_CHECKING:
    from core.seam.console import Console

PAGE = "usage"


class Usage:
    def __init__(self, console: Console, store: Store) -> None:
        self._c = console
        self._store = store
        self.user: str | None = policy.user_scope(console.principal)

    @property
    def cache_key(self) -> tuple[object, ...]:
        """What a cached report depends on: the database, the team scope and the user scope."""
        return (*self._c.cache_key, self.user)

    @cached_property
    def reader(self) -> Reader:
        return user_scoped(self._c.reader, self.user)

    def report(
        self,
        start_ms: int,
        end_ms: int,
        filters: Filters | None = None,
        prices: PriceSettings | None = None,
        basis: Basis = "requests",
    ) -> UsageReport:
        """Usage per team, user and server in the range, within the user's scope; priced at
        ``prices`` (the page's what-if prices), else at the installation's."""
        if not self._c.may(page=PAGE):
            raise PermissionDenied(f"{self._c.principal.label} may not open Usage")
        return usage_report(self.reader, start_ms, end_ms, prices or self.prices, filters, basis)

    @property
    def prices(self) -> PriceSettings:
        """The installation's unit prices (``settings.prices``): the page's price widgets start here."""
        return self._c.settings.prices

    @property
    def may_snapshot(self) -> bool:
        return self._c.may(action=Action.SNAPSHOT)

    def snapshot_now(self) -> Taken:
        """Write every snapshot now into the configured folder (admins only: it reads every team)."""
        self._c.require(Action.SNAPSHOT)
        now = self._c.now_ms()
        return take(self._store, self._c.settings, now - now % 60_000)
