"""Generic webhook: the Alertmanager webhook payload (version 4) POSTed as JSON."""

from __future__ import annotations

import dataclasses

from core.alerts.channels.base import HttpChannel, action_of
from core.alerts.channels.secrets import url_secrets
from core.kernel.records.alerts import Notification
from core.kernel.records.notifications import Delivery


class Webhook(HttpChannel):
    """POSTs ``Notification.webhook_payload()``; receivers written for Alertmanager work unchanged."""

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
        headers = self.bearer()
        if n.idempotency_key:
            headers = {**headers, "Idempotency-Key": n.idempotency_key}
        return self._http.post(
            self.settings.url,
            self.payload(n),
            action=action_of(n),
            group_key=n.group_key,
            alerts=len(n.alerts),
            secrets=self.secrets(),
            headers=headers,
        )
