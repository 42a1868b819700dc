"""One log line when a condition starts, one when it ends, a count in between.

A database outage or a receiver that is down makes the same job fail every few seconds; logging
each failure buries everything else. :class:`ConditionLog` says it once, counts the repeats (at
debug level each) and says when it ended and how many times it happened.
"""

from __future__ import annotations

import logging
import threading


class ConditionLog:
    def __init__(self, logger: logging.Logger) -> None:
        self.log = logger
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def active(self, key: str) -> bool:
        with self._lock:
            return key in self._counts

    def fail(self, key: str, msg: str, *args: object, level: int = logging.WARNING) -> None:
        """The condition ``key`` holds (again): logged the first time, counted after."""
        with self._lock:
            n = self._counts.get(key, 0)
            self._counts[key] = n + 1
        if n == 0:
            self.log.log(level, msg + " (repeats are counted, not logged, until it ends)", *args)
        else:
            self.log.debug(msg, *args)

    def ok(self, key: str, msg: str = "%s: works again after %d failure(s)") -> None:
        """The condition ``key`` ended: one line with how often it was seen."""
        with self._lock:
            n = self._counts.pop(key, 0)
        if n:
            self.log.info(msg, key, n)
