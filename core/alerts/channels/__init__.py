"""Notification channels: webhook, Slack, PagerDuty, email and Alertmanager, and their dispatcher.

``build_channel(settings)`` makes a channel from its settings; a :class:`Dispatcher` sends
notifications through channels with rate limits, retries and an outbox, recording each attempt.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from core.alerts.channels.alertmanager import Alertmanager
from core.alerts.channels.base import Acknowledging, Channel, Clock
from core.alerts.channels.dispatch import Dispatcher
from core.alerts.channels.email import Email
from core.alerts.channels.outbox import Outbox, OutboxStore
from core.alerts.channels.pagerduty import PagerDuty
from core.alerts.channels.secrets import install_log_masking, mask, mask_url, register_secret
from core.alerts.channels.slack import Slack
from core.alerts.channels.testsend import test_notification
from core.alerts.channels.webhook import Webhook
from core.kernel.records.notifications import Delivery, OutboxEntry
from core.kernel.settings.channels import (
    AlertmanagerChannel,
    ChannelBase,
    ChannelSettings,
    EmailChannel,
    PagerDutyChannel,
    RetrySettings,
    SlackChannel,
    WebhookChannel,
    parse_channels,
)


def build_channel(
    settings: ChannelBase, *, client: httpx.Client | None = None, clock: Clock = time.time
) -> Channel:
    """The channel for ``settings``; its secrets are registered for masking in logs and errors."""
    channel: Channel
    if isinstance(settings, WebhookChannel):
        channel = Webhook(settings, client, clock)
    elif isinstance(settings, SlackChannel):
        channel = Slack(settings, client, clock)
    elif isinstance(settings, PagerDutyChannel):
        channel = PagerDuty(settings, client, clock)
    elif isinstance(settings, EmailChannel):
        channel = Email(settings, clock)
    elif isinstance(settings, AlertmanagerChannel):
        channel = Alertmanager(settings, client, clock)
    else:
        raise ValueError(f"no channel for settings of type {type(settings).__name__}")
    register_secret(*channel.secrets())
    install_log_masking()
    return channel


def public_settings(settings: ChannelBase) -> dict[str, Any]:
    """The settings as the UI may show them: secrets as ``***``, URLs without credentials."""
    shown = settings.model_dump(mode="json")
    for key, value in shown.items():
        field = getattr(settings, key)
        if hasattr(field, "get_secret_value"):
            shown[key] = "***" if value else None
        elif key == "url" and isinstance(value, str):
            shown[key] = mask_url(value)
    return shown


__all__ = [
    "Acknowledging",
    "Alertmanager",
    "AlertmanagerChannel",
    "Channel",
    "ChannelBase",
    "ChannelSettings",
    "Delivery",
    "Dispatcher",
    "Email",
    "EmailChannel",
    "Outbox",
    "OutboxEntry",
    "OutboxStore",
    "PagerDuty",
    "PagerDutyChannel",
    "RetrySettings",
    "Slack",
    "SlackChannel",
    "Webhook",
    "WebhookChannel",
    "build_channel",
    "mask",
    "mask_url",
    "parse_channels",
    "public_settings",
    "test_notification",
]
