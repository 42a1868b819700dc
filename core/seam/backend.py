"""The process-wide half of the seam: settings, the store, sign-in; consoles for signed-in users."""

from __future__ import annotations

import logging

from core.access.policy import Principal
from core.admin.settings_values import overlay
from core.alerts.rules import rule_metrics
from core.alerts.ui_rules import load_with_ui_rules
from core.kernel.errors import PulseError
from core.kernel.settings import Settings
from core.runtime.selfstats import UiRecorder
from core.seam.console import Console
from core.seam.signin import SignIn
from core.storage.repos.settings import SettingsRepo
from core.storage.repos.ui_rules import UiRuleRepo
from core.storage.tsdb import Store, open_store

log = logging.getLogger(__name__)


class Backend:
    """What every session of one UI process shares: the settings and the opened store."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings  # the first-start settings: the file, PULSE_* variables, defaults
        self.store = store
        self._signin = SignIn(store.engine, settings)
        self._effective: tuple[int, Settings] | None = None  # (revision, settings in effect)
        self._rule_metrics: tuple[int, Settings, dict[str, str]] | None = None  # (UI rules' version, ...)

    @property
    def url(self) -> str:
        """The database URL: the cache key of everything read from this backend."""
        return self.settings.url

    def now_ms(self) -> int:
        return self.store.now_ms()

    @property
    def signin(self) -> SignIn:
        """Sign-in on the settings in effect: an admin's change of ``auth`` (timeouts, the
        throttle, single sign-on's groups) applies to the next sign-in and session check."""
        auth = self.effective().auth
        if self._signin.settings != auth:
            self._signin = SignIn(self.store.engine, self.effective())
        return self._signin

    def metric_names(self) -> list[str]:
        """Every metric ever stored (not team data: only its names), for empty states."""
        return self.store.metrics()

    def rule_metrics(self, settings: Settings) -> dict[str, str]:
        """alertname -> the selector its rule queries, for the charts of post-incident reports
        (the same rules as the daemon, files and UI rules, loaded again when either changes;
        the last ones read, or none, when they cannot be read)."""
        repo = UiRuleRepo(self.store.engine)
        last = self._rule_metrics
        try:
            version = repo.version()
            if last is None or last[0] != version or last[1] is not settings:
                last = self._rule_metrics = (
                    version,
                    settings,
                    rule_metrics(load_with_ui_rules(settings, repo).groups),
                )
        except PulseError:
            return {} if last is None else last[2]
        return last[2]

    def record_own_figures(self) -> UiRecorder:
        """Start this UI process's recorder of its own CPU and memory (once per process: the
        page layer caches it); see core.runtime.selfstats."""
        return UiRecorder(self.store).start()

    def effective(self) -> Settings:
        """The settings in effect: the first-start ones with the database's overrides on top
        (Admin › Settings), read again when the revision moves (one small query per call)."""
        try:
            revision = SettingsRepo(self.store.engine).revision()
            if self._effective is None or self._effective[0] != revision:
                overrides = {k: o.value for k, o in SettingsRepo(self.store.engine).overrides().items()}
                self._effective = (revision, overlay(self.settings, overrides))
        except PulseError as exc:  # the database is down, or a stored value no longer validates
            log.warning("settings in the database not applied: %s", exc)
            return self._effective[1] if self._effective is not None else self.settings
        return self._effective[1]

    def console(self, principal: Principal) -> Console:
        """The scoped seam of one signed-in user, on the settings in effect."""
        settings = self.effective()
        return Console(settings, self.store, principal, self.rule_metrics(settings), base=self.settings)


def open_backend(settings: Settings) -> Backend:
    """Open (and migrate) the store of ``settings``; StorageError says why it cannot."""
    return Backend(settings, open_store(settings))
