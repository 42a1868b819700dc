"""The dispatcher: retries with backoff, the outbox, exactly-once after an outage, rate limits, tests."""

from __future__ import annotations

import json
import random

import pytest

from core.alerts.channels import (
    Delivery,
    Dispatcher,
    OutboxEntry,
    PagerDutyChannel,
    RetrySettings,
    WebhookChannel,
    build_channel,
)
from core.alerts.channels.testsend import TEST_ALERTNAME
from tests.conftest import T0_MS, FakeClock
from tests.receivers import Receiver, Reply, alert, notification


class Sleeps:
    """A ``sleep`` that moves the fake clock instead of waiting."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.calls = clock, list[float]()

    def __call__(self, s: float) -> None:
        self.calls.append(s)
        self.clock.advance(s)


def make(
    receiver: Receiver, clock: FakeClock, *, retry: RetrySettings | None = None, **settings: object
) -> tuple[Dispatcher, list[Delivery], Sleeps]:
    records: list[Delivery] = []
    sleeps = Sleeps(clock)
    ch = build_channel(WebhookChannel(name="hook", url=receiver.url, **settings), clock=clock)  # type: ignore[arg-type]
    d = Dispatcher(
        [ch],
        retry=retry or RetrySettings(jitter=0),
        record=records.append,
        clock=clock,
        sleep=sleeps,
        rng=random.Random(1),
    )
    return d, records, sleeps


def test_retries_at_once_with_exponential_backoff(receiver: Receiver) -> None:
    clock = FakeClock()
    d, records, sleeps = make(receiver, clock)
    receiver.replies.extend([Reply(500, "oops"), Reply(502, "oops")])
    out = d.dispatch("hook", notification())
    assert [(x.attempt, x.ok, x.status_code) for x in out] == [
        (1, False, 500),
        (2, False, 502),
        (3, True, 200),
    ]
    assert records == out and sleeps.calls == [1.0, 2.0]
    assert len(receiver.requests) == 3 and not d.pending()


def test_jitter_stays_within_its_fraction(receiver: Receiver) -> None:
    clock = FakeClock()
    d, _, sleeps = make(receiver, clock, retry=RetrySettings(attempts=4, jitter=0.5, backoff_initial_s=0.5))
    receiver.default = Reply(500, "down")
    d.dispatch("hook", notification())
    assert len(sleeps.calls) == 3
    for got, base in zip(sleeps.calls, (0.5, 1, 2), strict=True):
        assert base * 0.5 <= got <= base * 1.5
    assert len(set(sleeps.calls)) == 3


def test_a_receiver_that_is_down_gets_the_notification_exactly_once_when_back() -> None:
    clock = FakeClock()
    rcv = Receiver()  # not started: down
    d, records, _ = make(rcv, clock)
    n = notification()
    out = d.dispatch("hook", n)
    assert [x.outcome for x in out] == ["failed"] * 3
    (entry,) = d.pending()
    assert entry.attempts == 3 and entry.next_at_ms > clock.ms

    assert d.retry_due() == []  # not due yet
    clock.advance(5)
    (again,) = d.retry_due()  # due, still down: rescheduled further out
    assert again.attempt == 4 and not again.ok
    (entry,) = d.pending()
    assert entry.next_at_ms - clock.ms == 8000

    rcv.start()
    try:
        clock.advance(3)
        assert d.retry_due() == []  # still waiting for its backoff
        clock.advance(10)
        (delivered,) = d.retry_due()
        assert delivered.ok and delivered.attempt == 5 and delivered.action == "trigger"
        for _ in range(5):  # later ticks, even much later, never send it again
            clock.advance(3600)
            assert d.tick() == []
        assert len(rcv.requests) == 1
        assert rcv.requests[0].json == n.webhook_payload()
        assert not d.pending()
        assert [r.attempt for r in records] == [1, 2, 3, 4, 5]
    finally:
        rcv.stop()


def test_a_newer_notification_replaces_the_waiting_one() -> None:
    clock = FakeClock()
    rcv = Receiver()
    d, _, _ = make(rcv, clock)
    d.dispatch("hook", notification())
    resolved = notification(alert(status="resolved", ends_at_ms=T0_MS + 60_000, host="host-1"))
    clock.advance(1)
    d.dispatch("hook", resolved)
    assert len(d.pending()) == 1
    rcv.start()
    try:
        clock.advance(600)
        (done,) = d.retry_due()
        assert done.ok and done.action == "resolve"
        assert [r.json["status"] for r in rcv.requests] == ["resolved"]
    finally:
        rcv.stop()


def test_permanent_failures_are_not_retried(receiver: Receiver) -> None:
    clock = FakeClock()
    d, records, sleeps = make(receiver, clock)
    receiver.replies.append(Reply(400, "bad"))
    (only,) = d.dispatch("hook", notification())
    assert (only.ok, only.status_code, only.retryable) == (False, 400, False)
    assert not d.pending() and sleeps.calls == [] and len(receiver.requests) == 1


def test_retry_after_is_honoured_and_long_waits_go_to_the_outbox(receiver: Receiver) -> None:
    clock = FakeClock()
    d, _, sleeps = make(receiver, clock)
    receiver.replies.append(Reply(429, "slow down", {"Retry-After": "120"}))
    (limited,) = d.dispatch("hook", notification())
    assert limited.status_code == 429 and sleeps.calls == []  # 120 s is not slept in the caller
    (entry,) = d.pending()
    assert entry.next_at_ms == clock.ms + 120_000
    clock.advance(119)
    assert d.retry_due() == []
    clock.advance(1)
    assert [x.ok for x in d.retry_due()] == [True]


def test_gives_up_after_the_configured_age() -> None:
    clock = FakeClock()
    d, records, _ = make(Receiver(), clock, retry=RetrySettings(attempts=1, jitter=0, give_up_after_s=60))
    d.dispatch("hook", notification())
    clock.advance(30)
    d.retry_due()
    clock.advance(60)
    out = d.retry_due()
    assert out[-1].outcome == "dropped" and "gave up after 3 attempt(s)" in out[-1].error
    assert "ConnectError" in out[-1].error and not d.pending()
    assert records[-1] == out[-1]


def test_rate_limit_queues_the_excess_and_sends_it_later(receiver: Receiver) -> None:
    clock = FakeClock()
    d, records, _ = make(receiver, clock, rate_limit_per_minute=2)
    out = [d.dispatch("hook", notification(group_key=f"g{i}")) for i in range(3)]
    assert [o[0].outcome for o in out] == ["delivered", "delivered", "rate_limited"]
    limited = out[2][0]
    assert limited.attempt == 0 and "rate limit of 2 per minute reached" in limited.error
    assert len(receiver.requests) == 2
    clock.advance(10)
    assert d.retry_due() == []  # no token yet (one every 30 s), nothing recorded
    clock.advance(20)
    (late,) = d.retry_due()
    assert late.ok and late.group_key == "g2" and late.attempt == 1
    assert [r.json["groupKey"] for r in receiver.requests] == ["g0", "g1", "g2"]
    assert [r.outcome for r in records] == ["delivered", "delivered", "rate_limited", "delivered"]


def test_send_test_builds_a_synthetic_alert_even_when_disabled(receiver: Receiver) -> None:
    clock = FakeClock()
    d, records, _ = make(receiver, clock, enabled=False)
    assert d.dispatch("hook", notification()) == []
    res = d.send_test("hook", external_url="http://pulse.example.com")
    assert res.ok and res.action == "test" and res.attempt == 1 and records == [res]
    body = receiver.requests[0].json
    assert body["alerts"][0]["labels"] == {"alertname": TEST_ALERTNAME, "severity": "info", "channel": "hook"}
    assert body["receiver"] == "hook" and body["status"] == "firing"
    receiver.replies.append(Reply(500, "no"))
    failed = d.send_test("hook")
    assert (failed.ok, failed.status_code, failed.action) == (False, 500, "test") and not d.pending()


def test_send_resolved_false_strips_resolved_alerts(receiver: Receiver) -> None:
    clock = FakeClock()
    d, _, _ = make(receiver, clock, send_resolved=False)
    gone = alert(status="resolved", ends_at_ms=T0_MS + 1, host="host-2")
    assert d.dispatch("hook", notification(gone)) == []
    d.dispatch("hook", notification(alert(host="host-1"), gone))
    (body,) = receiver.bodies()
    assert [a["labels"]["host"] for a in body["alerts"]] == ["host-1"]


def test_records_survive_a_failing_recorder(receiver: Receiver) -> None:
    def broken(_: Delivery) -> None:
        raise RuntimeError("database down")

    ch = build_channel(WebhookChannel(name="hook", url=receiver.url))
    (d,) = Dispatcher([ch], record=broken).dispatch("hook", notification())
    assert d.ok and len(receiver.requests) == 1


def test_unknown_channels_and_acknowledge_on_a_webhook_are_clear_errors(receiver: Receiver) -> None:
    d, _, _ = make(receiver, FakeClock())
    with pytest.raises(ValueError, match="unknown notification channel 'nope'; configured: hook"):
        d.dispatch("nope", notification())
    with pytest.raises(ValueError, match="only pagerduty channels can"):
        d.acknowledge("hook", notification())
    with pytest.raises(ValueError, match="two notification channels are named 'hook'"):
        Dispatcher([d.channels["hook"], d.channels["hook"]])


def test_pagerduty_acknowledge_goes_through_the_dispatcher(receiver: Receiver) -> None:
    receiver.default = Reply(202, '{"status": "success"}')
    pd = build_channel(PagerDutyChannel(name="pd", routing_key="k3y-abcdef", url=receiver.url))  # type: ignore[arg-type]
    d = Dispatcher([pd])
    n = notification()
    d.dispatch("pd", n)
    (ack,) = d.acknowledge("pd", n)
    assert ack.ok and ack.action == "acknowledge"
    assert [b["event_action"] for b in receiver.bodies()] == ["trigger", "acknowledge"]


def test_outbox_entries_are_plain_data() -> None:
    entry = OutboxEntry(
        "hook", "trigger", notification(), first_at_ms=T0_MS, next_at_ms=T0_MS + 1000, attempts=2
    )
    data = json.loads(json.dumps(entry.to_dict()))
    assert OutboxEntry.from_dict(data) == entry


def test_a_failing_channel_logs_one_line_then_one_when_it_delivers_again(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 15, item 8: not a line per group and attempt during a receiver's outage."""
    clock = FakeClock()
    d, records, _ = make(receiver, clock, retry=RetrySettings(attempts=3, jitter=0))
    receiver.default = Reply(503, "down")
    with caplog.at_level("INFO", logger="core.alerts.channels.dispatch"):
        for i in range(5):
            d.dispatch("hook", notification(group_key=f"g{i}"))
        failed = [r for r in records if not r.ok]
        assert len(failed) >= 5  # every attempt is still recorded as a delivery
        assert [r.levelname for r in caplog.records] == ["WARNING"]
        assert "repeats are counted" in caplog.records[0].getMessage()
        receiver.default = Reply(200, "ok")
        d.dispatch("hook", notification(group_key="after"))
    lines = [r.getMessage() for r in caplog.records]
    assert any(f"channel hook: delivers again after {len(failed)} failed attempt(s)" in m for m in lines)
    assert sum("delivered" in m for m in lines) == 1
