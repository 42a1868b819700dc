"""Throttling of failed sign-ins by client and by account, with growing delays; no hard lock.

Every attempt is logged (``sign_in_attempts``: user as typed, whether it exists, client, time,
outcome) for the throttle and for the audit view. Before a password is checked, the throttle
asks how long this client must still wait; it counts failures (wrong passwords, unknown users
alike) for three keys within ``throttle_window_minutes``:

* the client and the account together: after ``throttle_free_failures`` failures, 2^k seconds
  (k = failures beyond the free ones), up to ``throttle_max_delay_s``; a success of that client
  on that account starts the count again;
* the client alone, whatever the accounts: after ``throttle_account_free_failures``, the same
  growth and cap (one client guessing many accounts);
* the account from every client: after ``throttle_account_free_failures``, 2^k seconds up to
  ``throttle_account_max_delay_s`` (30 s by default), applied only to clients that failed on that
  account themselves. A client with a clean record on the account is never delayed by others'
  failures, so hammering a username from elsewhere cannot keep its owner out.

Unknown usernames are counted and delayed exactly like real ones and answered with the same
message, so neither the message nor the delay tells which usernames exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from core.kernel.records.users import FailureStats
from core.kernel.settings import AuthSettings
from core.storage.repos.sessions import SignInLog


class Outcome(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # wrong password, unknown or disabled user
    THROTTLED = "throttled"  # refused before any check


def delay_s(failures: int, free: int, cap_s: int) -> int:
    """Seconds to wait after ``failures`` failures: none for the first ``free``, then 1, 2, 4, ... up to ``cap_s``."""
    if failures < free:
        return 0
    return min(2 ** min(failures - free, 30), cap_s)


def failure_message(wait_s: int) -> str:
    """The one message of every failed sign-in, whatever the reason and whether the user exists."""
    if wait_s <= 0:
        return "Wrong username or password."
    return f"Wrong username or password, or too many attempts. Try again in {wait_s} s."


class Throttle:
    def __init__(
        self, log: SignInLog, settings: AuthSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self.log = log
        self.settings = settings
        self.clock = clock

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _left_s(self, stats: FailureStats, free: int, cap_s: int, now_ms: int) -> int:
        wait = delay_s(stats.count, free, cap_s)
        if not wait:
            return 0
        left_ms = stats.last_ms + wait * 1000 - now_ms
        return max(0, -(-left_ms // 1000))  # whole seconds, rounded up

    def wait_s(self, username: str, client: str) -> int:
        """Seconds ``client`` must wait before trying ``username`` (0: it may try now)."""
        s = self.settings
        now = self.now_ms()
        since = now - s.throttle_window_minutes * 60_000
        pair = self.log.failures(since, username=username, client=client)
        waits = [
            self._left_s(pair, s.throttle_free_failures, s.throttle_max_delay_s, now),
            self._left_s(
                self.log.failures(since, client=client, reset_on_ok=False),
                s.throttle_account_free_failures,
                s.throttle_max_delay_s,
                now,
            ),
        ]
        if pair.count:  # only clients that failed on this account themselves
            account = self.log.failures(since, username=username)
            waits.append(
                self._left_s(account, s.throttle_account_free_failures, s.throttle_account_max_delay_s, now)
            )
        return max(waits)

    def record(self, username: str, client: str, outcome: Outcome, *, known: bool) -> None:
        self.log.record(
            at_ms=self.now_ms(), username=username, known=known, client=client, outcome=outcome.value
        )
