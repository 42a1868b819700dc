"""The log lines of deliveries: one when a channel starts failing, one when it delivers again.

A receiver that is down makes every group's every retry fail; a line per attempt buried the log
(issue 15, item 8). A failing channel is one condition of :class:`ConditionLog`: its first failure
is logged with the reason, the repeats are counted (debug level), and the first delivery after
them says how many attempts failed in between. A dropped notification is data lost: always logged.
"""

from __future__ import annotations

import logging

from core.kernel.condition_log import ConditionLog
from core.kernel.records.notifications import Delivery

log = logging.getLogger("core.alerts.channels.dispatch")


class DeliveryLog:
    def __init__(self, logger: logging.Logger = log) -> None:
        self.log = logger
        self.failing = ConditionLog(logger)

    def record(self, d: Delivery) -> None:
        key = f"channel {d.channel}"
        if d.ok:
            self.failing.ok(key, "%s: delivers again after %d failed attempt(s)")
            self.log.info(
                "channel %s: %s of %s delivered (attempt %d, %s)",
                d.channel,
                d.action,
                d.group_key,
                d.attempt,
                d.status_code,
            )
        elif d.outcome == "dropped":
            self.log.error("channel %s: %s of %s dropped: %s", d.channel, d.action, d.group_key, d.error)
        else:
            self.failing.fail(
                key,
                "channel %s: %s of %s %s (attempt %d): %s",
                d.channel,
                d.action,
                d.group_key,
                d.outcome,
                d.attempt,
                d.error,
            )
