"""The process-wide half of the seam: settings, the store, sign-in; consoles for signed-in users."""

from __future__ import annotations

from functools import cached_property

from core.access.policy import Principal
from core.alerts.loader import load_rules
from core.alerts.rules import rule_metrics
from core.kernel.errors import PulseError
from core.kernel.settings import Settings
from core.seam.console import Console
from core.seam.signin import SignIn
from core.storage.tsdb import Store, open_store


class Backend:
    """What every session of one UI process shares: the settings and the opened store."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.signin = SignIn(store.engine, settings)

    @property
    def url(self) -> str:
        """The database URL: the cache key of everything read from this backend."""
        return self.settings.url

    def now_ms(self) -> int:
        return self.store.now_ms()

    def metric_names(self) -> list[str]:
        """Every metric ever stored (not team data: only its names), for empty states."""
        return self.store.metrics()

    @cached_property
    def rule_metrics(self) -> dict[str, str]:
        """alertname -> the selector its rule queries, for the charts of post-incident reports
        (the same rule files as the daemon; none when they cannot be read)."""
        try:
            return rule_metrics(load_rules(self.settings).groups)
        except PulseError:
            return {}

    def console(self, principal: Principal) -> Console:
        """The scoped seam of one signed-in user."""
        return Console(self.settings, self.store, principal, self.rule_metrics)


def open_backend(settings: Settings) -> Backend:
    """Open (and migrate) the store of ``settings``; StorageError says why it cannot."""
    return Backend(settings, open_store(settings))
