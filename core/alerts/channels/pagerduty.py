"""PagerDuty Events API v2: trigger, acknowledge and resolve one PagerDuty alert per group.

The ``dedup_key`` is the SHA-256 of the notification's group key (as Alertmanager computes it),
so every event of a group lands on the same PagerDuty alert, across restarts.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from core.alerts.channels import render
from core.alerts.channels.base import HttpChannel, action_of
from core.kernel.records.alerts import Notification, rfc3339
from core.kernel.records.notifications import Delivery

MAX_SUMMARY = 1024
MAX_LINKS = 10


def dedup_key(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()


def _accept(resp: httpx.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None  # 202 is what counts; a proxy may strip the body
    if isinstance(body, dict) and body.get("status") not in (None, "success"):
        return f"PagerDuty answered {body.get('status')}: {body.get('message', '')}"
    return None


class PagerDuty(HttpChannel):
    def secrets(self) -> list[str]:
        return [self.settings.routing_key.get_secret_value()]

    def _source(self, n: Notification) -> str:
        if self.settings.source:
            return self.settings.source
        common = n.common_labels
        return common.get("host") or common.get("instance") or common.get("server") or "mcp-pulse"

    def event(self, n: Notification, action: str) -> dict[str, Any]:
        """The Events API v2 body for ``action`` (trigger, acknowledge or resolve)."""
        body: dict[str, Any] = {
            "routing_key": self.settings.routing_key.get_secret_value(),
            "event_action": action,
            "dedup_key": dedup_key(n.group_key),
        }
        if action != "trigger":
            return body
        firing = n.firing
        summary = render.subject(n)
        if len(summary) > MAX_SUMMARY:
            summary = summary[: MAX_SUMMARY - 1] + "…"
        common = n.common_labels
        payload: dict[str, Any] = {
            "summary": summary,
            "source": self._source(n),
            "severity": self.settings.severity.get(render.highest_severity(firing), "warning"),
            "timestamp": rfc3339(min(a.starts_at_ms for a in firing)),
            "custom_details": {
                "firing": "\n\n".join(render.alert_text(a) for a in firing),
                "num_firing": len(firing),
                "num_resolved": len(n.alerts) - len(firing),
                "group_labels": dict(n.group_labels),
                "common_labels": common,
            },
        }
        for key, label in (("class", "alertname"), ("group", "team"), ("component", "server")):
            if common.get(label):
                payload[key] = common[label]
        body["payload"] = payload
        body["client"] = self.settings.client
        if n.external_url:
            body["client_url"] = n.external_url
        runbooks = sorted({a.annotations["runbook_url"] for a in firing if a.annotations.get("runbook_url")})
        if runbooks:
            body["links"] = [{"href": url, "text": "Runbook"} for url in runbooks[:MAX_LINKS]]
        return body

    def _post(self, n: Notification, action: str) -> Delivery:
        return self._http.post(
            self.settings.url,
            self.event(n, action),
            action=action,
            group_key=n.group_key,
            alerts=len(n.alerts),
            secrets=self.secrets(),
            accept=_accept,
        )

    def send(self, n: Notification) -> Delivery:
        """trigger while any alert of the group fires, resolve once none does."""
        return self._post(n, action_of(n))

    def acknowledge(self, n: Notification) -> Delivery:
        return self._post(n, "acknowledge")
