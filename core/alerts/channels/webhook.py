"""Generic webhook: the Alertmanager webhook payload (version 4) POSTed as JSON."""

from __future__ import annotations

import dataclasses
import time

import httpx

from core.alerts.channels.base import Clock, Delivery, HttpSender, action_of, make_client
from core.alerts.channels.config import WebhookChannel
from core.alerts.channels.secrets import url_secrets
from core.alerts.model import Notification


class Webhook:
    """POSTs ``Notification.webhook_payload()``; receivers written for Alertmanager work unchanged."""

    def __init__(
        self, settings: WebhookChannel, client: httpx.Client | None = None, clock: Clock = time.time
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self._http = HttpSender(
            settings.name,
            client,
            settings.timeout_s,
            clock,
            lambda: make_client(settings.timeout_s, settings.verify_tls, settings.ca_file),
        )

    def secrets(self) -> list[str]:
        token = self.settings.bearer_token
        return [*url_secrets(self.settings.url), *([token.get_secret_value()] if token else [])]

    def payload(self, n: Notification) -> dict[str, object]:
        limit = self.settings.max_alerts
        if limit and len(n.alerts) > limit:
            n = dataclasses.replace(
                n, alerts=n.alerts[:limit], truncated_alerts=n.truncated_alerts + len(n.alerts) - limit
            )
        return n.webhook_payload()

    def send(self, n: Notification) -> Delivery:
        headers = {}
        if self.settings.bearer_token is not None:
            headers["Authorization"] = f"Bearer {self.settings.bearer_token.get_secret_value()}"
        return self._http.post(
            self.settings.url,
            self.payload(n),
            action=action_of(n),
            group_key=n.group_key,
            alerts=len(n.alerts),
            secrets=self.secrets(),
            headers=headers,
        )

    def close(self) -> None:
        self._http.close()
