"""Deliver notifications through channels: rate limits, retries with backoff, an outbox, records.

Every attempt becomes a :class:`Delivery` passed to ``record`` (the lead's storage) and logged
with secrets masked. A notification that fails is tried ``retry.attempts`` times at once (short
waits only), then waits in the outbox; :meth:`Dispatcher.retry_due` (called by the scheduler)
tries it again with exponential backoff and jitter until it is delivered or too old. Channels
that need firing alerts re-sent (Alertmanager) are re-sent by :meth:`Dispatcher.resend_due`.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.alerts.channels.base import Acknowledging, Channel, Clock, action_of
from core.alerts.channels.delivery_log import DeliveryLog
from core.alerts.channels.outbox import Outbox, OutboxStore
from core.alerts.channels.ratelimit import TokenBucket
from core.alerts.channels.secrets import mask
from core.alerts.channels.testsend import test_notification
from core.kernel.records.alerts import Notification
from core.kernel.records.notifications import Delivery, OutboxEntry
from core.kernel.settings.channels import ChannelBase, RetrySettings

log = logging.getLogger(__name__)

INLINE_WAIT_MAX_S = 5.0  # a longer wait is not slept in the caller's thread: the outbox takes over
DELIVERED_KEYS_KEPT = 10_000


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


@dataclass
class _Firing:
    notification: Notification
    last_ms: int


class Dispatcher:
    def __init__(
        self,
        channels: Iterable[Channel],
        *,
        retry: RetrySettings | None = None,
        record: Callable[[Delivery], None] | None = None,
        clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        outbox: OutboxStore | None = None,
    ) -> None:
        self.channels: dict[str, Channel] = {}
        for ch in channels:
            if ch.name in self.channels:
                raise ValueError(f"two notification channels are named {ch.name!r}: names must be unique")
            self.channels[ch.name] = ch
        self.retry = retry or RetrySettings()
        self.clock, self.sleep = clock, sleep
        self.rng = rng or random.Random()
        self.outbox: OutboxStore = outbox if outbox is not None else Outbox()
        self._record_fn = record
        self._log = DeliveryLog()  # one line when a channel starts failing, one when it recovers
        now = clock()
        self._buckets = {n: TokenBucket(self._limit(c), now) for n, c in self.channels.items()}
        self._locks = {n: threading.Lock() for n in self.channels}
        self._state = threading.Lock()
        self._firing: dict[tuple[str, str], _Firing] = {}
        self._delivered: OrderedDict[str, None] = OrderedDict()  # recent idempotency keys delivered

    # -- public API ---------------------------------------------------------------------------

    def dispatch(self, channel: str, n: Notification) -> list[Delivery]:
        """Send ``n`` through ``channel`` now (retrying briefly); every attempt is returned."""
        ch = self._channel(channel)
        if not self._enabled(ch):
            return []
        self._track_firing(ch, n)
        if not self._send_resolved(ch):
            firing = n.firing
            if not firing:
                return []
            n = dataclasses.replace(n, alerts=tuple(firing))
        now_ms = self._now_ms()
        entry = OutboxEntry(channel, action_of(n), n, first_at_ms=now_ms, next_at_ms=now_ms)
        if self._every_change(ch):
            entry.slot = "c" + _base36(now_ms)
        with self._locks[channel]:
            if n.idempotency_key and n.idempotency_key in self._delivered:
                return []  # re-made after a restart, but its re-send from the outbox went out already
            # the intent, before the send: a crash mid-request leaves it in the (persistent) outbox,
            # and the restarted dispatcher re-sends it once, with the same idempotency key
            self.outbox.put(entry)
            if entry.slot:
                return self._in_order(ch, n.group_key, tries=self.retry.attempts)
            return self._run(ch, entry, tries=self.retry.attempts, announce_limit=True)

    def acknowledge(self, channel: str, n: Notification) -> list[Delivery]:
        """Acknowledge the group of ``n`` on a receiver that knows acknowledgement (PagerDuty)."""
        ch = self._channel(channel)
        if not isinstance(ch, Acknowledging):
            raise ValueError(f"channel {channel!r} cannot acknowledge: only pagerduty channels can")
        now_ms = self._now_ms()
        entry = OutboxEntry(channel, "acknowledge", n, first_at_ms=now_ms, next_at_ms=now_ms)
        with self._locks[channel]:
            return self._run(ch, entry, tries=self.retry.attempts, announce_limit=True)

    def send_test(self, channel: str, external_url: str = "") -> Delivery:
        """One attempt with a synthetic alert, even on a disabled channel; never queued."""
        ch = self._channel(channel)
        now = self.clock()
        n = test_notification(channel, int(now * 1000), external_url)
        with self._locks[channel]:
            bucket = self._buckets[channel]
            if not bucket.take(now):
                return self._record(ch, self._limited(ch, n, "test", 0, bucket.wait_s(now), queued=False))
            d = self._call(ch, OutboxEntry(channel, "test", n, int(now * 1000), int(now * 1000)))
            return self._record(ch, dataclasses.replace(d, attempt=1, action="test"))

    def retry_due(self) -> list[Delivery]:
        """Try once more every outbox entry whose time has come; returns the attempts made."""
        out: list[Delivery] = []
        for entry in self.outbox.due(self._now_ms()):
            if entry.slot:  # every change, in order: the group's oldest first, then the others
                ch = self.channels.get(entry.channel)
                if ch is not None and self._enabled(ch) and self._every_change(ch):
                    with self._locks[ch.name]:
                        if self._pending_of(ch.name, entry.notification.group_key)[:1] == [entry]:
                            out += self._in_order(ch, entry.notification.group_key, tries=1)
                    continue
            ch = self.channels.get(entry.channel)
            if ch is None or not self._enabled(ch):
                self.outbox.remove(entry.key)
                why = "the channel is no longer configured" if ch is None else "the channel was disabled"
                out.append(self._drop(ch, entry, why))
                continue
            with self._locks[ch.name]:
                if self.outbox.get(entry.key) != entry:
                    continue  # delivered or replaced by a newer notification meanwhile
                now = self.clock()
                wait = self._buckets[ch.name].wait_s(now)
                if wait > 0:
                    entry.next_at_ms = int((now + wait) * 1000)
                    self.outbox.put(entry)
                    continue
                out += self._run(ch, entry, tries=1, announce_limit=False)
        return out

    def resend_due(self) -> list[Delivery]:
        """Re-send the firing alerts of channels with a resend interval (Alertmanager) when due."""
        out: list[Delivery] = []
        now_ms = self._now_ms()
        with self._state:
            due = []
            for (name, group_key), f in self._firing.items():
                interval = getattr(self.channels[name], "resend_interval_s", None)
                if interval and now_ms - f.last_ms >= interval * 1000:
                    f.last_ms = now_ms
                    due.append((name, group_key, f.notification))
        for name, group_key, n in due:
            if self.outbox.get((name, group_key, "notify")) is not None:
                continue  # a retry is pending: it carries the same alerts
            entry = OutboxEntry(name, "resend", n, first_at_ms=now_ms, next_at_ms=now_ms)
            with self._locks[name]:
                out += self._run(self.channels[name], entry, tries=1, announce_limit=True)
        return out

    def tick(self) -> list[Delivery]:
        """What the scheduler calls every few seconds: retries, then resends."""
        return self.retry_due() + self.resend_due()

    def pending(self) -> list[OutboxEntry]:
        return self.outbox.entries()

    def close(self) -> None:
        for ch in self.channels.values():
            ch.close()

    # -- internals ----------------------------------------------------------------------------

    def _channel(self, name: str) -> Channel:
        try:
            return self.channels[name]
        except KeyError:
            known = ", ".join(sorted(self.channels)) or "none"
            raise ValueError(f"unknown notification channel {name!r}; configured: {known}") from None

    @staticmethod
    def _cfg(ch: Channel) -> ChannelBase | None:
        s = getattr(ch, "settings", None)
        return s if isinstance(s, ChannelBase) else None

    def _enabled(self, ch: Channel) -> bool:
        cfg = self._cfg(ch)
        return cfg is None or cfg.enabled

    def _send_resolved(self, ch: Channel) -> bool:
        cfg = self._cfg(ch)
        return cfg is None or cfg.send_resolved

    def _every_change(self, ch: Channel) -> bool:
        cfg = self._cfg(ch)
        return cfg is not None and cfg.every_change

    def _pending_of(self, channel: str, group_key: str) -> list[OutboxEntry]:
        """The group's waiting state changes on a channel delivering every change, oldest first."""
        found = [
            e
            for e in self.outbox.entries()
            if e.channel == channel and e.notification.group_key == group_key and e.slot
        ]
        return sorted(found, key=lambda e: (e.first_at_ms, e.slot))

    def _in_order(self, ch: Channel, group_key: str, tries: int) -> list[Delivery]:
        """Send the group's waiting changes oldest first; stop at the first that stays waiting."""
        out: list[Delivery] = []
        now_ms = self._now_ms()
        for entry in self._pending_of(ch.name, group_key):
            if entry.next_at_ms > now_ms and entry.attempts:
                break  # waiting for its backoff: the later ones wait behind it
            out += self._run(ch, entry, tries=tries, announce_limit=True)
            if self.outbox.get(entry.key) is not None:
                break  # not delivered yet: the later changes wait behind it
        return out

    def _limit(self, ch: Channel) -> int:
        cfg = self._cfg(ch)
        return 0 if cfg is None else cfg.rate_limit_per_minute

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _track_firing(self, ch: Channel, n: Notification) -> None:
        if not getattr(ch, "resend_interval_s", None):
            return
        key = (ch.name, n.group_key)
        with self._state:
            firing = n.firing
            if firing:
                self._firing[key] = _Firing(dataclasses.replace(n, alerts=tuple(firing)), self._now_ms())
            else:
                self._firing.pop(key, None)

    def _backoff(self, attempts: int, retry_after_s: float | None) -> float:
        r = self.retry
        base = min(r.backoff_max_s, r.backoff_initial_s * 2 ** min(attempts - 1, 30))
        delay = base * (1 + r.jitter * self.rng.uniform(-1, 1))
        return max(delay, retry_after_s or 0.0)

    def _call(self, ch: Channel, entry: OutboxEntry) -> Delivery:
        try:
            if entry.action == "acknowledge" and isinstance(ch, Acknowledging):
                return ch.acknowledge(entry.notification)
            return ch.send(entry.notification)
        except Exception as exc:  # a channel bug must not stop the others: report it as a failure
            return Delivery(
                channel=ch.name,
                at_ms=self._now_ms(),
                ok=False,
                action=entry.action,
                group_key=entry.notification.group_key,
                outcome="failed",
                error=f"{type(exc).__name__}: {exc}",
                retryable=True,
                alerts=len(entry.notification.alerts),
            )

    def _run(self, ch: Channel, entry: OutboxEntry, *, tries: int, announce_limit: bool) -> list[Delivery]:
        out: list[Delivery] = []
        bucket = self._buckets[ch.name]
        delay = 0.0
        for i in range(tries):
            now = self.clock()
            if not bucket.take(now):
                wait = bucket.wait_s(now)
                entry.next_at_ms = int((now + wait) * 1000)
                if announce_limit:
                    d = self._limited(ch, entry.notification, entry.action, entry.attempts, wait, queued=True)
                    out.append(self._record(ch, d))
                self._queue(entry)
                return out
            entry.attempts += 1
            d = dataclasses.replace(self._call(ch, entry), attempt=entry.attempts, action=entry.action)
            d = self._record(ch, d)
            out.append(d)
            if d.ok:
                self.outbox.remove(entry.key)
                if key := entry.notification.idempotency_key:
                    self._delivered[key] = None
                    while len(self._delivered) > DELIVERED_KEYS_KEPT:
                        self._delivered.popitem(last=False)
                return out
            entry.last_error = d.error
            if not d.retryable:
                self.outbox.remove(entry.key)  # it would fail the same way again
                return out
            delay = self._backoff(entry.attempts, d.retry_after_s)
            if i + 1 >= tries or delay > INLINE_WAIT_MAX_S:
                break
            self.sleep(delay)
        now_ms = self._now_ms()
        if now_ms - entry.first_at_ms >= self.retry.give_up_after_s * 1000:
            self.outbox.remove(entry.key)
            out.append(self._drop(ch, entry, f"still failing after {self.retry.give_up_after_s:g}s"))
            return out
        entry.next_at_ms = now_ms + int(delay * 1000)
        self._queue(entry)
        return out

    def _queue(self, entry: OutboxEntry) -> None:
        self.outbox.put(entry)
        extra = len(self.outbox) - self.retry.max_outbox
        if extra > 0:
            for old in self.outbox.entries()[:extra]:
                self.outbox.remove(old.key)
                self._drop(
                    self.channels.get(old.channel), old, f"the outbox is full ({self.retry.max_outbox})"
                )

    def _limited(
        self, ch: Channel, n: Notification, action: str, attempts: int, wait_s: float, *, queued: bool
    ) -> Delivery:
        limit = self._limit(ch)
        then = f"queued, next try in {wait_s:.0f}s" if queued else f"try again in {wait_s:.0f}s"
        return Delivery(
            channel=ch.name,
            at_ms=self._now_ms(),
            ok=False,
            action=action,
            group_key=n.group_key,
            outcome="rate_limited",
            attempt=attempts,
            error=f"rate limit of {limit} per minute reached; {then}",
            retryable=True,
            retry_after_s=wait_s,
            alerts=len(n.alerts),
        )

    def _drop(self, ch: Channel | None, entry: OutboxEntry, why: str) -> Delivery:
        d = Delivery(
            channel=entry.channel,
            at_ms=self._now_ms(),
            ok=False,
            action=entry.action,
            group_key=entry.notification.group_key,
            outcome="dropped",
            attempt=entry.attempts,
            error=f"gave up after {entry.attempts} attempt(s): {why}; last error: {entry.last_error or 'none'}",
            alerts=len(entry.notification.alerts),
        )
        return self._record(ch, d)

    def _record(self, ch: Channel | None, d: Delivery) -> Delivery:
        if d.error:
            d = dataclasses.replace(d, error=mask(d.error, ch.secrets() if ch is not None else ()))
        self._log.record(d)
        if self._record_fn is not None:
            try:
                self._record_fn(d)
            except Exception as exc:  # losing the record must not lose the notification
                log.error(
                    "channel %s: recording a delivery failed: %s",
                    d.channel,
                    mask(f"{type(exc).__name__}: {exc}"),
                )
        return d
