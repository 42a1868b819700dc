"""The jobs of the leader's alerting service on the scheduler, and the gate a reload closes.

A reload of the rules (``core.runtime.leadership.LeaderDuties.reload_alerting``) removes the old
service's jobs, then closes its :class:`JobGate`: no new run starts and the runs in progress
finish, so the new service loads the alert states they saved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

from core.kernel.errors import StorageUnavailable
from core.kernel.settings import Settings
from core.runtime.alerting import AlertService
from core.runtime.scheduler import PulseScheduler
from core.runtime.spool import BufferedWriter


class JobGate:
    """Counts the runs of one alerting service's jobs in progress; :meth:`close` lets no new run
    start and waits for those in progress, so a reload reads the states the last run saved."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running = 0
        self._open = True

    def wrap(self, fn: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            with self._cond:
                if not self._open:
                    return
                self._running += 1
            try:
                fn()
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

        return run

    def close(self, timeout_s: float = 60) -> bool:
        """False when a run was still going after ``timeout_s``."""
        with self._cond:
            self._open = False
            return self._cond.wait_for(lambda: self._running == 0, timeout_s)


def evaluate_when_caught_up(service: AlertService, group: str, writer: BufferedWriter) -> None:
    """Evaluate ``group`` unless the store is still missing samples held during an outage: a rule
    evaluated on that gap would resolve alerts that still hold (and fire them again seconds
    later). Skipped runs are one log line per outage (the scheduler's)."""
    held = writer.catching_up
    if held:
        raise StorageUnavailable(
            f"{held} samples collected during a storage outage are not written yet; "
            "rules wait for them so a gap does not resolve alerts that still hold"
        )
    service.evaluate(group)


def schedule_alerting(
    service: AlertService, settings: Settings, sched: PulseScheduler, gate: JobGate | None = None
) -> list[str]:
    """Add the service's jobs (one per rule group, and the notify tick); returns their ids."""
    wrap = gate.wrap if gate is not None else (lambda fn: fn)
    for name, interval in service.groups.items():
        evaluate = partial(evaluate_when_caught_up, service, name, sched.writer)
        sched.add_job(f"alerts:{name}", wrap(evaluate), interval)
    sched.add_job("alerts:notify", wrap(service.tick), settings.alerting.notify_interval_s)
    return [f"alerts:{g}" for g in service.groups] + ["alerts:notify"]
