"""Channel settings: each type picked by ``type``; bad ones name the field and never echo a secret."""

from __future__ import annotations

import pytest

from core.alerts.channels import (
    AlertmanagerChannel,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
    build_channel,
    parse_channels,
    public_settings,
)
from core.kernel.errors import ConfigError

SLACK_URL = "https://hooks.slack.com/services/T0001/B0001/sl4ckS3cretPath"

RAW = [
    {
        "type": "webhook",
        "name": "hook",
        "url": "https://hooks.example.com/pulse",
        "bearer_token": "tok3n-s3cret",
    },
    {"type": "slack", "name": "slack-ops", "webhook_url": SLACK_URL, "channel": "#ops"},
    {
        "type": "pagerduty",
        "name": "pd",
        "routing_key": "R0UT1NGKEY0123456789abcdef012345",
        "severity": {"info": "error"},
    },
    {
        "type": "email",
        "name": "mail",
        "host": "smtp.example.com",
        "port": 465,
        "security": "ssl",
        "username": "pulse",
        "password": "m4il-s3cret",
        "sender": "pulse@example.com",
        "to": ["ops@example.com"],
    },
    {"type": "alertmanager", "name": "am", "url": "http://127.0.0.1:9093", "rate_limit_per_minute": 0},
]


def test_every_type_parses_with_defaults() -> None:
    hook, slack, pd, mail, am = parse_channels(RAW)
    assert isinstance(hook, WebhookChannel) and hook.max_alerts == 0 and hook.timeout_s == 10
    assert isinstance(slack, SlackChannel) and slack.channel == "#ops"
    assert isinstance(pd, PagerDutyChannel)
    assert pd.url == "https://events.pagerduty.com/v2/enqueue"
    assert pd.severity == {"critical": "critical", "warning": "warning", "info": "error"}
    assert isinstance(mail, EmailChannel) and mail.security == "ssl"
    assert isinstance(am, AlertmanagerChannel) and am.ends_at_horizon_s == 240
    assert all(c.enabled and c.send_resolved for c in (hook, slack, pd, mail, am))
    assert hook.rate_limit_per_minute == 30 and am.rate_limit_per_minute == 0


def test_secrets_are_not_in_repr_nor_in_the_public_view() -> None:
    channels = parse_channels(RAW)
    text = " ".join(repr(c) + str(public_settings(c)) for c in channels)
    for secret in ("tok3n-s3cret", "sl4ckS3cretPath", "R0UT1NGKEY", "m4il-s3cret"):
        assert secret not in text
    shown = public_settings(channels[0])
    assert shown["bearer_token"] == "***" and shown["url"] == "https://hooks.example.com/pulse"
    userinfo = WebhookChannel(name="h", url="https://bob:pa55word@hooks.example.com/x?token=abcdef123")
    assert public_settings(userinfo)["url"] == "https://***@hooks.example.com/x?token=***"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"type": "sms", "name": "x"},
            "channels.0' of channel 'x': Input tag 'sms' found using 'type' does not match any of the expected tags: 'webhook'",
        ),
        (
            {"type": "webhook", "name": "Bad Name", "url": "http://x"},
            "channels.0.webhook.name' of channel 'Bad Name': String should match",
        ),
        (
            {"type": "webhook", "name": "h", "url": "ftp://x/y"},
            "channels.0.webhook.url' of channel 'h': Value error, must be an http",
        ),
        (
            {"type": "webhook", "name": "h", "url": "http://x", "colour": "red"},
            "channels.0.webhook.colour' of channel 'h': Extra",
        ),
        (
            {"type": "webhook", "name": "h", "url": "http://x", "max_alerts": -1},
            "channels.0.webhook.max_alerts",
        ),
        ({"type": "slack", "name": "s"}, "channels.0.slack.webhook_url' of channel 's': Field required"),
        (
            {"type": "pagerduty", "name": "p"},
            "channels.0.pagerduty.routing_key' of channel 'p': Field required",
        ),
        (
            {"type": "pagerduty", "name": "p", "routing_key": " "},
            "channels.0.pagerduty.routing_key' of channel 'p': Value error, must not be empty",
        ),
        (
            {"type": "pagerduty", "name": "p", "routing_key": "k", "severity": {"critical": "sev1"}},
            "unknown PagerDuty severity sev1: use critical, error, warning, info",
        ),
        (
            {"type": "pagerduty", "name": "p", "routing_key": "k", "severity": {"page": "critical"}},
            "unknown Pulse severity page",
        ),
        (
            {"type": "email", "name": "m", "host": "smtp", "sender": "a@b", "to": []},
            "channels.0.email.to' of channel 'm': List should have at least 1 item",
        ),
        (
            {"type": "email", "name": "m", "host": "smtp", "sender": "not-an-address", "to": ["a@b"]},
            "channels.0.email.sender' of channel 'm': String should match",
        ),
        (
            {"type": "email", "name": "m", "host": "smtp", "security": "tls", "sender": "a@b", "to": ["a@b"]},
            "channels.0.email.security' of channel 'm': Input should be 'starttls', 'ssl' or 'none'",
        ),
        (
            {"type": "email", "name": "m", "host": "smtp", "username": "u", "sender": "a@b", "to": ["a@b"]},
            "username and password go together",
        ),
        (
            {
                "type": "email",
                "name": "m",
                "host": "smtp.example.com",
                "security": "none",
                "username": "u",
                "password": "p4ss",
                "sender": "a@b",
                "to": ["a@b"],
            },
            "refusing to send the SMTP password unencrypted",
        ),
        (
            {"type": "alertmanager", "name": "a", "url": "http://x", "resend_interval_s": 0},
            "resend_interval_s",
        ),
        (
            {"type": "webhook", "name": "h", "url": "http://x", "rate_limit_per_minute": -5},
            "rate_limit_per_minute",
        ),
    ],
)
def test_malformed_settings_name_the_field(raw: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_channels([raw])
    assert expected in str(info.value)


def test_a_bad_secret_url_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        parse_channels(
            [{"type": "slack", "name": "s", "webhook_url": "hooks.slack.com/services/T1/B1/s3cretPath"}]
        )
    msg = str(info.value)
    assert "channels.0.slack.webhook_url" in msg and "must be an http:// or https:// URL" in msg
    assert "s3cretPath" not in msg


def test_plain_auth_is_allowed_to_loopback_only() -> None:
    ok = EmailChannel(
        name="m", host="127.0.0.1", security="none", username="u", password="p", sender="a@b", to=["c@d"]
    )  # type: ignore[arg-type]
    assert ok.security == "none"


def test_names_must_be_unique() -> None:
    with pytest.raises(ConfigError, match="repeated: hook"):
        parse_channels([RAW[0], {**RAW[0]}])


def test_build_channel_makes_each_type() -> None:
    kinds = [type(build_channel(c)).__name__ for c in parse_channels(RAW)]
    assert kinds == ["Webhook", "Slack", "PagerDuty", "Email", "Alertmanager"]
