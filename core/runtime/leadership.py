"""Which daemon leads: the policy around the storage's leader lock, and the leader's duties.

Every daemon collects its own sources. The leader also evaluates the alert rules, sends the
notifications and runs the database's maintenance (rollups, compaction, retention), each of which
must run once per database. A follower tries the lock every ``cluster.poll_s``; the leader checks
it holds the lock just as often and steps down at once when the check fails or does not answer
(the lock connection's deadline is a third of ``cluster.lost_after_s``, before the server gives
the lock to another daemon). Taking over builds the alerting service afresh from the database
(alert states, notification log, outbox, escalations), so the new leader carries on from the last
state the old one saved: an alert already notified is not notified again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from core.kernel.condition_log import ConditionLog
from core.kernel.errors import StorageUnavailable
from core.kernel.settings import Settings
from core.runtime.alert_jobs import JobGate, schedule_alerting
from core.runtime.alerting import AlertService
from core.runtime.scheduler import PulseScheduler
from core.runtime.selfmetrics import SelfMetrics
from core.storage.leader_lock import LeaderLock
from core.storage.repos.ui_rules import UiRuleRepo
from core.storage.tsdb import Store

log = logging.getLogger("pulse.leader")
UI_RULES_JOB = "alerts:ui-rules"  # the check whether rules made in the UI changed
UI_RULES_CHECK_S = 10.0  # at most this far apart (and at most one evaluation interval)


def start_alerting(
    settings: Settings, store: Store, sched: PulseScheduler, gate: JobGate | None = None
) -> AlertService | None:
    """Rule groups at their intervals and the notification stage, as jobs of the scheduler."""
    if not settings.alerting.enabled:
        return None
    service = AlertService(settings, store)
    schedule_alerting(service, settings, sched, gate)
    return service


class LeaderDuties:
    """What only the leader runs, added to and removed from the daemon's scheduler."""

    def __init__(self, settings: Settings, store: Store, sched: PulseScheduler) -> None:
        self.settings, self.store, self.sched = settings, store, sched
        self.alerting: AlertService | None = None
        self.on_alerting: Callable[[AlertService | None], None] | None = None  # told of a new service
        self.leading = False
        self._jobs: list[str] = []
        self._ui_version = 0  # the UI rules' version the running service loaded
        self._gate = JobGate()  # the running service's jobs
        # gain, lose and a reload never overlap (the election thread, the UI-rules check and the
        # settings reloader all call in)
        self._duty_lock = threading.RLock()

    def gain(self, takeover: bool) -> None:
        """Start the duties; on a ``takeover`` the rule groups are evaluated at once, so the
        cadence the old leader kept goes on without waiting a whole interval."""
        with self._duty_lock:
            self.leading = True
            self.sched.add_maintenance()
            self._start_alerting(run_now=takeover)

    def _start_alerting(self, run_now: bool) -> None:
        self._ui_version = UiRuleRepo(self.store.engine).version() if self.settings.alerting.enabled else 0
        self._gate = JobGate()
        self.alerting = start_alerting(self.settings, self.store, self.sched, self._gate)
        if self.alerting is not None:
            self._jobs = [f"alerts:{g}" for g in self.alerting.groups] + ["alerts:notify"]
            if run_now and self.sched.running:
                for job in self._jobs:
                    self.sched.run_job_now(job)
            every = min(self.settings.alerting.evaluation_interval_s, UI_RULES_CHECK_S)
            self.sched.add_job(UI_RULES_JOB, self.check_ui_rules, every)
        if self.on_alerting is not None:
            self.on_alerting(self.alerting)

    def check_ui_rules(self) -> bool:
        """Reload the rules when the UI rules changed since they were loaded (one row read);
        True when it tried to reload. Runs at most an evaluation interval apart, so a rule an admin
        created, edited, disabled or deleted takes effect within one interval, without a restart."""
        if UiRuleRepo(self.store.engine).version() == self._ui_version:
            return False
        with self._duty_lock:  # not while the duties start or stop (leadership's thread)
            if self.alerting is None:
                return False
            self.reload_alerting()  # tried: the error, if any, is logged and the old rules stay
        return True

    def reload_alerting(self, settings: Settings | None = None) -> bool:
        """A new alerting service with the rules (and, given ``settings``, the alerting settings:
        channels, route, escalations, inhibit rules, intervals) as they are now, in place of the
        running one; True when the leader's service was replaced. A follower only keeps the
        settings for when it leads.

        The old service's jobs stop first (runs in progress finish), so the new one loads the
        alert states they saved: nothing already notified is notified again, and the alerts of
        rules that are gone resolve. Its groups are evaluated at once. When it cannot be built,
        the old service is scheduled again and the error logged."""
        with self._duty_lock:
            if settings is not None:
                self.settings = settings
            if not self.leading:
                return False
            if not self.settings.alerting.enabled:  # switched off: stop, and nothing to check
                self._stop_alerting()
                return True
            if self.alerting is None:  # switched on
                self._start_alerting(run_now=True)
                return True
            return self._replace_alerting()

    def _replace_alerting(self) -> bool:
        version = UiRuleRepo(self.store.engine).version()
        for job in self._jobs:
            self.sched.remove_job(job)
        if not self._gate.close():
            log.warning("an alert evaluation still runs after 60 s; reloading the rules anyway")
        old, self._gate = self.alerting, JobGate()
        try:
            service = AlertService(self.settings, self.store)
        except Exception:
            log.exception("reloading the alerting failed; the rules and channels loaded before stay in force")
            self._ui_version = version  # tried: not again until the next change
            if old is not None:
                self._jobs = schedule_alerting(old, old.settings, self.sched, self._gate)
            return False
        self.alerting, self._ui_version = service, version
        self._jobs = schedule_alerting(service, self.settings, self.sched, self._gate)
        every = min(self.settings.alerting.evaluation_interval_s, UI_RULES_CHECK_S)
        self.sched.reschedule(UI_RULES_JOB, every)
        if self.sched.running:
            for job in self._jobs[:-1]:
                self.sched.run_job_now(job)
        if self.on_alerting is not None:
            self.on_alerting(service)
        if old is not None:
            old.close()
        log.info("alert rules reloaded: %d rules in %d groups", service.engine_rules, len(service.groups))
        return True

    def lose(self) -> None:
        """Stop the duties (a run in progress finishes) and close the channels."""
        with self._duty_lock:
            self.leading = False
            self.sched.remove_maintenance()
            self._stop_alerting()

    def _stop_alerting(self) -> None:
        self.sched.remove_job(UI_RULES_JOB)
        for job in self._jobs:
            self.sched.remove_job(job)
        self._jobs = []
        service, self.alerting = self.alerting, None
        if self.on_alerting is not None:
            self.on_alerting(None)
        if service is not None:
            service.close()


class Leadership:
    """Follower until the lock is taken; leader until it is lost or the daemon stops."""

    def __init__(
        self,
        lock: LeaderLock,
        node: str,
        poll_s: float,
        on_gain: Callable[[bool], None],
        on_lose: Callable[[], None],
        metrics: SelfMetrics,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.lock, self.node, self.poll_s = lock, node, poll_s
        self.on_gain, self.on_lose, self.on_change = on_gain, on_lose, on_change
        self.metrics = metrics
        self.is_leader = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage = ConditionLog(log)
        self._step_lock = threading.Lock()
        metrics.leader.set(0)

    def step(self, strict: bool = False) -> bool:
        """One poll: a follower tries the lock, the leader checks it; returns ``is_leader``.
        ``strict``: an error starting the duties is raised (at start-up), not only logged."""
        with self._step_lock:
            if self._stop.is_set():
                return self.is_leader
            if self.is_leader:
                try:
                    held, why = self.lock.check(), "the leader lock was lost"
                except StorageUnavailable as exc:
                    held, why = False, str(exc)
                if not held:
                    self._lose(why)
                return self.is_leader
            try:
                got = self.lock.try_acquire()
                self._outage.ok("leader election")
            except StorageUnavailable as exc:
                self._outage.fail("leader election", "cannot try the leader lock: %s", exc)
                return False
            if got:
                self._gain(takeover=self._thread is not None, strict=strict)
            return self.is_leader

    def _gain(self, takeover: bool, strict: bool) -> None:
        t0 = time.monotonic()
        self.is_leader = True
        try:
            self.on_gain(takeover)
        except Exception:
            if not strict:
                log.exception("%s: could not start the leader's duties; giving the lock up", self.node)
            self.is_leader = False
            self._safe_lose()
            self.lock.close()
            if strict:
                raise
            return
        self.metrics.leader.set(1)
        self.metrics.leader_changes.inc()
        log.info("%s is the leader now (duties started in %.2fs)", self.node, time.monotonic() - t0)
        self._changed()

    def _lose(self, why: str) -> None:
        self.is_leader = False
        self.metrics.leader.set(0)
        self.metrics.leader_changes.inc()
        log.warning("%s stops leading: %s", self.node, why)
        self._safe_lose()
        self.lock.close()  # whatever the server thinks: the next try starts on a new connection
        self._changed()

    def _safe_lose(self) -> None:
        try:
            self.on_lose()
        except Exception:
            log.exception("%s: stopping the leader's duties failed", self.node)

    def _changed(self) -> None:
        try:
            self.on_change()
        except Exception:
            log.exception("%s: reporting the leader change failed", self.node)

    def holder(self) -> str | None:
        try:
            return self.lock.holder()
        except StorageUnavailable:
            return None

    # -- the polling thread ---------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pulse-leader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.step()
            except Exception:  # never let the election thread die
                log.exception("%s: leader election step failed", self.node)

    def stop_polling(self) -> None:
        """No more steps: the lock and the duties stay as they are (until :meth:`stop`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.poll_s + 30)

    def stop(self) -> None:
        """Stop polling, stop the duties and release the lock."""
        self.stop_polling()
        with self._step_lock:
            if self.is_leader:
                self.is_leader = False
                self.metrics.leader.set(0)
                self._safe_lose()
            self.lock.close()
