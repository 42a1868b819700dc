"""Slack incoming webhook: a ``text`` fallback plus Block Kit blocks listing the alerts."""

from __future__ import annotations

from typing import Any

import httpx

from core.alerts.channels import render
from core.alerts.channels.base import HttpChannel, action_of
from core.kernel.records.alerts import Alert, Notification
from core.kernel.records.notifications import Delivery
from core.kernel.settings.channels import SlackChannel

MAX_BLOCKS = 50  # Slack refuses a message with more blocks
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
_ALERT_BLOCKS = MAX_BLOCKS - 3  # room for the header, the "and N more" line and the context


def escape(text: str) -> str:
    """Slack mrkdwn control characters: &, < and > must be entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{escape(label)}>"


def alert_mrkdwn(a: Alert) -> str:
    icon = ":red_circle:" if a.status == "firing" else ":large_green_circle:"
    lines = [f"{icon} *{escape(render.title(a))}*"]
    if a.annotations.get("description"):
        lines.append(escape(a.annotations["description"]))
    labels = ", ".join(f"`{escape(k)}={escape(v)}`" for k, v in sorted(a.labels.items()))
    lines.append(labels)
    links = []
    if a.annotations.get("runbook_url"):
        links.append(_link(a.annotations["runbook_url"], "Runbook"))
    if a.generator_url:
        links.append(_link(a.generator_url, "Source"))
    if links:
        lines.append(" | ".join(links))
    text = "\n".join(lines)
    return text if len(text) <= MAX_SECTION_TEXT else text[: MAX_SECTION_TEXT - 1] + "…"


def fallback_text(n: Notification) -> str:
    """The plain ``text``: shown in notifications and by clients without Block Kit."""
    lines = [render.subject(n)]
    for a in n.alerts:
        line = f"- [{a.status}] {render.title(a)}"
        if a.annotations.get("runbook_url"):
            line += f" (runbook: {a.annotations['runbook_url']})"
        lines.append(line)
    if n.truncated_alerts:
        lines.append(f"... and {n.truncated_alerts} more")
    return "\n".join(lines)


def message(n: Notification, settings: SlackChannel) -> dict[str, Any]:
    header = render.subject(n)
    if len(header) > MAX_HEADER_TEXT:
        header = header[: MAX_HEADER_TEXT - 1] + "…"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": header}}]
    shown = n.alerts[:_ALERT_BLOCKS]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": alert_mrkdwn(a)}} for a in shown]
    hidden = len(n.alerts) - len(shown) + n.truncated_alerts
    if hidden:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"_... and {hidden} more alert(s)_"}}
        )
    if n.external_url:
        context = f"{_link(n.external_url, 'Open in MCP Pulse')} | receiver `{escape(n.receiver)}`"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    body: dict[str, Any] = {"text": fallback_text(n), "blocks": blocks}
    for key in ("channel", "username", "icon_emoji"):
        value = getattr(settings, key)
        if value:
            body[key] = value
    return body


def _accept(resp: httpx.Response) -> str | None:
    """Slack answers a plain ``ok``; anything else in a 2xx is reported, not trusted."""
    text = resp.text.strip()
    return None if text in ("ok", "") else f"Slack answered {text[:200]!r}"


class Slack(HttpChannel):
    def secrets(self) -> list[str]:
        url = self.settings.webhook_url.get_secret_value()
        path = httpx.URL(url).raw_path.decode("ascii", "replace")
        return [url, *([path] if len(path) > 1 else [])]

    def send(self, n: Notification) -> Delivery:
        return self._http.post(
            self.settings.webhook_url.get_secret_value(),
            message(n, self.settings),
            action=action_of(n),
            group_key=n.group_key,
            alerts=len(n.alerts),
            secrets=self.secrets(),
            accept=_accept,
        )
