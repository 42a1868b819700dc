"""Forward alerts to a real Alertmanager through ``POST /api/v2/alerts``.

Like Prometheus, a firing alert is sent with ``endsAt`` a few resend intervals ahead, and sent
again every ``resend_interval_s`` while it fires (the dispatcher's ``resend_due``), so Alertmanager
keeps it active without resolving it early; a resolved alert is sent with its real end.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from core.alerts.channels.base import Clock, HttpChannel, action_of
from core.alerts.channels.secrets import url_secrets
from core.kernel.records.alerts import Alert, Notification, rfc3339
from core.kernel.records.notifications import Delivery
from core.kernel.settings.channels import AlertmanagerChannel


class Alertmanager(HttpChannel):
    def __init__(
        self, settings: AlertmanagerChannel, client: httpx.Client | None = None, clock: Clock = time.time
    ) -> None:
        super().__init__(settings, client, clock)
        self.endpoint = settings.url.rstrip("/") + "/api/v2/alerts"

    @property
    def resend_interval_s(self) -> float:
        return self.settings.resend_interval_s

    def secrets(self) -> list[str]:
        token = self.settings.bearer_token
        return [*url_secrets(self.settings.url), *([token.get_secret_value()] if token else [])]

    def postable(self, a: Alert, now_ms: int) -> dict[str, Any]:
        """One ``postableAlert`` of the Alertmanager API v2."""
        if a.status == "firing":
            ends_at = now_ms + int(self.settings.ends_at_horizon_s * 1000)
        else:
            ends_at = a.ends_at_ms if a.ends_at_ms is not None else now_ms
        body: dict[str, Any] = {
            "labels": dict(a.labels),
            "annotations": dict(a.annotations),
            "startsAt": rfc3339(a.starts_at_ms),
            "endsAt": rfc3339(ends_at),
        }
        if a.generator_url:
            body["generatorURL"] = a.generator_url
        return body

    def body(self, n: Notification) -> list[dict[str, Any]]:
        now_ms = int(self.clock() * 1000)
        return [self.postable(a, now_ms) for a in n.alerts]

    def send(self, n: Notification) -> Delivery:
        headers = self.bearer()
        return self._http.post(
            self.endpoint,
            self.body(n),
            action=action_of(n),
            group_key=n.group_key,
            alerts=len(n.alerts),
            secrets=self.secrets(),
            headers=headers,
        )
