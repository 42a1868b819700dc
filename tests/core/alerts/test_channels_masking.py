"""Secrets never reach a Delivery, a log record or the UI: known values and secret-looking patterns."""

from __future__ import annotations

import logging
import random

import pytest

from core.alerts.channels import (
    Delivery,
    Dispatcher,
    PagerDutyChannel,
    RetrySettings,
    SlackChannel,
    WebhookChannel,
    build_channel,
    mask,
)
from core.alerts.channels.secrets import MaskingFilter, register_secret
from tests.conftest import FakeClock
from tests.receivers import Receiver, Reply, notification

SLACK_PATH = "/services/T0MASK/B0MASK/sLaCkPaThS3cret"
TOKEN = "b3arer-T0ken-xyz"
ROUTING_KEY = "R0utingKeyMask0123456789abcdef00"
SECRETS = ("sLaCkPaThS3cret", TOKEN, ROUTING_KEY)


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        (
            "POST https://hooks.slack.com/services/T01/B02/abcDEF123 failed",
            "abcDEF123",
            "hooks.slack.com/services/",
        ),
        ("connect to https://bob:hunter22@example.com/x", "hunter22", "example.com/x"),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi", "Authorization: Bearer ***"),
        (
            '{"routing_key": "abc123def456", "event_action": "trigger"}',
            "abc123def456",
            '"event_action": "trigger"',
        ),
        ("GET /hook?token=s3cr3tv4lue&team=ops", "s3cr3tv4lue", "team=ops"),
        ("password='p@ss w0rd'", "p@ss w0rd", "password="),
    ],
)
def test_mask_hides_secret_patterns(text: str, hidden: str, kept: str) -> None:
    out = mask(text)
    assert hidden not in out and kept in out and "***" in out


def test_mask_hides_registered_values_and_extras() -> None:
    register_secret("only-known-here-42")
    assert mask("the value only-known-here-42 leaked") == "the value *** leaked"
    assert mask("abc extra-secret-9 def", ["extra-secret-9"]) == "abc *** def"
    assert mask("short ab is kept", ["ab"]) == "short ab is kept"


def test_masking_filter_folds_args_into_the_message() -> None:
    register_secret("filter-secret-77")
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s", ("POST", "http://h/filter-secret-77"), None
    )
    assert MaskingFilter().filter(record)
    assert record.getMessage() == "HTTP Request: POST http://h/***"


def test_no_secret_in_deliveries_or_logs(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    """Receivers that echo the secrets back in errors, and httpx logging every URL at DEBUG."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="httpx")  # quiet by default; an operator may turn it on
    records: list[Delivery] = []
    channels = [
        build_channel(SlackChannel(name="slack", webhook_url=receiver.url + SLACK_PATH)),  # type: ignore[arg-type]
        build_channel(WebhookChannel(name="hook", url=receiver.url + "/hook", bearer_token=TOKEN)),  # type: ignore[arg-type]
        build_channel(PagerDutyChannel(name="pd", routing_key=ROUTING_KEY, url=receiver.url + "/pd")),  # type: ignore[arg-type]
    ]
    clock = FakeClock()
    d = Dispatcher(
        channels,
        record=records.append,
        clock=clock,
        sleep=clock.advance,
        retry=RetrySettings(attempts=2, give_up_after_s=10),
        rng=random.Random(3),
    )
    echo = f"bad request to {receiver.url}{SLACK_PATH} with Bearer {TOKEN} and key {ROUTING_KEY}"
    receiver.default = Reply(500, echo)
    for name in ("slack", "hook", "pd"):
        d.dispatch(name, notification())
        d.send_test(name)
    clock.advance(60)
    d.retry_due()  # gives up: the dropped records quote the last error
    receiver.default = Reply(200, "ok")
    d.dispatch("slack", notification(group_key="other"))

    down = Receiver()  # a refused connection names no URL, but check the path anyway
    hidden = build_channel(
        SlackChannel(name="slack2", webhook_url=down.url + "/services/T1/B1/d0wnS3cretPath")
    )  # type: ignore[arg-type]
    records.append(Dispatcher([hidden], retry=RetrySettings(attempts=1)).send_test("slack2"))

    assert {r.outcome for r in records} >= {"failed", "dropped", "delivered"}
    assert any("***" in r.error for r in records)
    texts = [r.error for r in records] + [rec.getMessage() for rec in caplog.records]
    assert any("HTTP Request: POST" in t for t in texts)  # httpx did log the request lines
    for text in texts:
        for secret in (*SECRETS, "d0wnS3cretPath"):
            assert secret not in text, text
