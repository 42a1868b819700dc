"""Settings changed in the database reach the running daemon: a job polls the revision every
``scheduler.settings_poll_s`` and applies a new one without a restart, one log line per change.

- collectors (``collectors``, ``host``, ``demo``, ``sources``): each whose configuration changed
  is built anew and rescheduled; one switched off stops, one switched on starts at once;
- ``retention`` and ``ingest``: handed to the store (its writes and maintenance use them next);
- ``scheduler``: timeouts, backoff and the misfire grace at once, maintenance intervals
  rescheduled (on the leader);
- ``alerting``: the leader builds its alerting service anew (channels, route, escalations,
  inhibit rules, intervals), see ``LeaderDuties.reload_alerting``;
- ``snapshots``: the daily job rescheduled, or stopped.

Sections read at start only never come from the database (``core.admin.settings_values.
RESTART_SECTIONS``). A revision that does not validate against this daemon's file (a newer
daemon's setting, say) is logged and skipped; the settings in effect stay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from collectors.base import Collector
from collectors.registry import REGISTRY, build_source, known
from core.admin import audit
from core.admin.settings import SettingsService, section_values
from core.admin.settings_values import SECTIONS, masked
from core.kernel.errors import PulseError
from core.kernel.settings import Settings
from core.runtime.leadership import LeaderDuties
from core.runtime.scheduler import PulseScheduler
from core.runtime.snapshots import DailySnapshots
from core.storage.repos.settings import SettingsRepo
from core.storage.tsdb import Store

log = logging.getLogger("pulse.settings")
JOB = "settings"
COLLECTOR_SECTIONS = frozenset({"collectors", "host", "demo", "sources"})


def collector_configs(settings: Settings) -> dict[str, Any]:
    """Each collector these settings run, by name, with what it is built from."""
    builtins = {n: getattr(settings, n, n) for n in dict.fromkeys(settings.collectors)}
    return builtins | {s.name: s for s in settings.sources if s.enabled}


def build_collector(settings: Settings, name: str) -> Collector:
    if name in known(source=False):
        return REGISTRY[name].factory()(settings)
    return build_source(next(s for s in settings.sources if s.name == name))


class SettingsReloader:
    """The daemon's settings in effect, kept up to date with the database's revision."""

    def __init__(
        self,
        base: Settings,
        store: Store,
        sched: PulseScheduler,
        duties: LeaderDuties,
        now_ms: Callable[[], int],
    ) -> None:
        self.service = SettingsService(base, SettingsRepo(store.engine), store.now_ms)
        self.store, self.sched, self.duties, self.now_ms = store, sched, duties, now_ms
        self.current = base
        self.revision = 0  # none applied yet: the first-start settings are in effect

    def start(self) -> None:
        """Apply what the database holds now (when it answers), then poll for changes."""
        try:
            self.check()
        except PulseError as exc:  # the database is down: the file's settings until it answers
            log.warning("settings in the database not read yet (the file's apply until then): %s", exc)
        self.sched.add_job(JOB, self.check, self.current.scheduler.settings_poll_s)

    def check(self) -> int | None:
        """Apply the database's revision when it is new; returns it, or None when nothing changed."""
        revision = self.service.revision()
        if revision == self.revision:
            return None
        try:
            new = self.service.effective()
        except PulseError as exc:
            log.error("settings revision %d not applied (the settings in effect stay): %s", revision, exc)
            self.revision = revision
            return None
        self.apply(new, revision)
        self.revision = revision
        return revision

    def apply(self, new: Settings, revision: int) -> None:
        old, self.current = self.current, new
        changed = [s for s in SECTIONS if getattr(old, s) != getattr(new, s)]
        before, after = masked(old), masked(new)
        for section in changed:
            what = audit.changes(
                section_values(section, before[section]), section_values(section, after[section])
            )
            log.info("settings revision %d: %s changed: %s", revision, section, what or "a secret changed")
        self.store.use_settings(new)  # retention and ingest limits
        self.sched.settings = new  # collector timeout, backoff
        if COLLECTOR_SECTIONS & set(changed):
            self._collectors(old, new, revision)
        if "scheduler" in changed:
            self._scheduler(old, new, revision)
        if "alerting" in changed or "sources" in changed:  # rules may query a prometheus source
            self._alerting(new, revision)
        if "snapshots" in changed or "prices" in changed:  # the snapshots price usage and savings
            self._snapshots(new, revision)

    def _collectors(self, old: Settings, new: Settings, revision: int) -> None:
        before, after = collector_configs(old), collector_configs(new)
        for name in before.keys() - after.keys():
            self.sched.replace_collector(name, None)
            log.info("settings revision %d: collector %r stopped", revision, name)
        for name, cfg in after.items():
            if before.get(name) == cfg and name in self.sched.collectors:
                continue
            try:
                collector = build_collector(new, name)
            except Exception as exc:  # a source that cannot be built: the others go on
                log.error("settings revision %d: collector %r not started: %s", revision, name, exc)
                continue
            self.sched.replace_collector(name, collector)
            verb = "restarted" if name in before else "started"
            log.info(
                "settings revision %d: collector %r %s, every %gs", revision, name, verb, collector.interval
            )

    def _scheduler(self, old: Settings, new: Settings, revision: int) -> None:
        if new.scheduler.settings_poll_s != old.scheduler.settings_poll_s:
            self.sched.reschedule(JOB, new.scheduler.settings_poll_s)
        if new.scheduler.misfire_grace_s != old.scheduler.misfire_grace_s:
            self.sched.set_misfire_grace(new.scheduler.misfire_grace_s)
        if self.sched.has_job("rollups"):  # the leader's maintenance
            for job, _, seconds in self.sched.maintenance_jobs():
                self.sched.reschedule(job, seconds)
            log.info("settings revision %d: maintenance jobs rescheduled", revision)

    def _alerting(self, new: Settings, revision: int) -> None:
        try:
            replaced = self.duties.reload_alerting(new)
        except Exception as exc:  # a rule file or channel that cannot be built: the old service stays
            log.error("settings revision %d: alerting not reloaded (the old one runs on): %s", revision, exc)
            return
        if replaced:
            service = self.duties.alerting
            state = (
                f"{len(service.groups)} rule groups, {len(new.alerting.channels)} channel(s)"
                if service
                else "off"
            )
            log.info("settings revision %d: alerting reloaded: %s", revision, state)

    def _snapshots(self, new: Settings, revision: int) -> None:
        self.sched.remove_job("snapshots")
        if new.snapshots.enabled:
            self.sched.add_job(
                "snapshots", DailySnapshots(self.store, new, self.now_ms), new.snapshots.check_interval_s
            )
        log.info(
            "settings revision %d: snapshots %s", revision, "rescheduled" if new.snapshots.enabled else "off"
        )
