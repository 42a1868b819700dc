"""The synthetic notification of a channel's "send test" action."""

from __future__ import annotations

from core.kernel.records.alerts import Alert, Notification

TEST_ALERTNAME = "PulseTestNotification"


def test_notification(channel: str, now_ms: int, external_url: str = "") -> Notification:
    """The synthetic notification of a channel's "send test" action."""
    labels = {"alertname": TEST_ALERTNAME, "severity": "info", "channel": channel}
    alert = Alert(
        labels=labels,
        annotations={
            "summary": f"Test notification from MCP Pulse to channel {channel}",
            "description": "If you read this, the channel works. Nothing needs to be done.",
        },
        status="firing",
        starts_at_ms=now_ms,
        generator_url=external_url,
    )
    return Notification(
        receiver=channel,
        group_key=f'{{}}/{{channel="{channel}"}}:{{alertname="{TEST_ALERTNAME}"}}',
        group_labels={"alertname": TEST_ALERTNAME},
        alerts=(alert,),
        external_url=external_url,
    )
