"""Webhook, Slack and PagerDuty channels against a real HTTP receiver on loopback."""

from __future__ import annotations

import hashlib
import json

from core.alerts.channels import PagerDutyChannel, SlackChannel, WebhookChannel, build_channel
from core.alerts.channels.pagerduty import PagerDuty
from core.kernel.records.alerts import fingerprint
from tests.conftest import T0_MS, FakeClock
from tests.receivers import Receiver, Reply, alert, notification

GROUP_KEY = '{}:{alertname="HostDown"}'


def test_webhook_posts_the_alertmanager_v4_payload(receiver: Receiver) -> None:
    ch = build_channel(
        WebhookChannel(name="hook", url=receiver.url + "/hook", bearer_token="t0ken-abc"),  # type: ignore[arg-type]
        clock=FakeClock(),
    )
    n = notification()
    d = ch.send(n)
    assert (d.ok, d.status_code, d.outcome, d.action, d.channel) == (
        True,
        200,
        "delivered",
        "trigger",
        "hook",
    )
    assert d.at_ms == T0_MS and d.group_key == GROUP_KEY and d.alerts == 2
    (req,) = receiver.requests
    assert req.path == "/hook"
    assert req.headers["Authorization"] == "Bearer t0ken-abc"
    assert req.headers["Content-Type"] == "application/json"
    body = req.json
    assert body == n.webhook_payload()
    assert set(body) == {
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    }
    assert body["version"] == "4" and body["status"] == "firing" and body["groupKey"] == GROUP_KEY
    assert body["commonLabels"] == {"alertname": "HostDown", "severity": "critical", "host": "host-1"}
    first = body["alerts"][0]
    assert set(first) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }
    assert first["startsAt"] == "2023-11-15T00:00:00.000Z" and first["endsAt"] == "0001-01-01T00:00:00Z"
    assert first["fingerprint"] == fingerprint(first["labels"])


def test_webhook_max_alerts_truncates_and_counts(receiver: Receiver) -> None:
    ch = build_channel(WebhookChannel(name="hook", url=receiver.url, max_alerts=1))
    ch.send(notification())
    body = receiver.requests[0].json
    assert len(body["alerts"]) == 1 and body["truncatedAlerts"] == 1


def test_webhook_resolved_and_error_classification(receiver: Receiver) -> None:
    ch = build_channel(WebhookChannel(name="hook", url=receiver.url))
    resolved = notification(alert(status="resolved", ends_at_ms=T0_MS + 60_000, host="host-1"))
    receiver.replies.extend(
        [Reply(503, "busy"), Reply(400, "bad payload"), Reply(429, "slow down", {"Retry-After": "7"})]
    )
    busy, bad, slow = ch.send(resolved), ch.send(resolved), ch.send(resolved)
    assert receiver.requests[0].json["status"] == "resolved"
    assert receiver.requests[0].json["alerts"][0]["endsAt"] == "2023-11-15T00:01:00.000Z"
    assert (busy.ok, busy.status_code, busy.retryable, busy.action) == (False, 503, True, "resolve")
    assert busy.error == "HTTP 503 Service Unavailable: busy"
    assert (bad.status_code, bad.retryable) == (400, False)
    assert (slow.status_code, slow.retryable, slow.retry_after_s) == (429, True, 7.0)


def test_webhook_receiver_down_is_a_retryable_failure() -> None:
    down = Receiver()  # never started: the port refuses connections
    d = build_channel(WebhookChannel(name="hook", url=down.url)).send(notification())
    assert (d.ok, d.status_code, d.retryable, d.outcome) == (False, None, True, "failed")
    assert d.error.startswith("ConnectError")


def test_slack_posts_text_and_blocks_with_runbook_links(receiver: Receiver) -> None:
    settings = SlackChannel(
        name="slack",
        webhook_url=receiver.url + "/services/T0/B0/XyZsecret",  # type: ignore[arg-type]
        channel="#ops",
        username="pulse",
    )
    d = build_channel(settings).send(notification())
    assert d.ok and d.status_code == 200
    (req,) = receiver.requests
    assert req.path == "/services/T0/B0/XyZsecret"
    body = req.json
    assert body["channel"] == "#ops" and body["username"] == "pulse" and "icon_emoji" not in body
    assert body["text"].splitlines() == [
        "[FIRING:2] HostDown (host-1 critical)",
        "- [firing] HostDown on host-1 (runbook: https://runbooks.example.com/HostDown)",
        "- [firing] HostDown on host-1 (runbook: https://runbooks.example.com/HostDown)",
    ]
    header, first, second, context = body["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[FIRING:2] HostDown (host-1 critical)"},
    }
    assert first["type"] == "section" and first["text"]["type"] == "mrkdwn"
    assert "<https://runbooks.example.com/HostDown|Runbook>" in first["text"]["text"]
    assert "`instance=host-1:9100`" in first["text"]["text"]
    assert "`instance=host-1:9200`" in second["text"]["text"]
    assert (
        context["type"] == "context"
        and "<http://pulse.example.com|Open in MCP Pulse>" in context["elements"][0]["text"]
    )


def test_slack_escapes_mrkdwn_and_reports_a_refusal(receiver: Receiver) -> None:
    a = alert(host="<b>&co")
    receiver.replies.append(Reply(404, "channel_not_found"))
    d = build_channel(SlackChannel(name="s", webhook_url=receiver.url + "/x/y/z")).send(notification(a))  # type: ignore[arg-type]
    assert "&lt;b&gt;&amp;co" in receiver.requests[0].json["blocks"][1]["text"]["text"]
    assert (d.ok, d.status_code, d.retryable) == (False, 404, False)
    assert "channel_not_found" in d.error


def pd_channel(receiver: Receiver, **kw: object) -> PagerDuty:
    settings = PagerDutyChannel(
        name="pd",
        routing_key="R0UTINGKEY0123456789abcdefABCDEF",  # type: ignore[arg-type]
        url=receiver.url + "/v2/enqueue",
        **kw,  # type: ignore[arg-type]
    )
    ch = build_channel(settings)
    assert isinstance(ch, PagerDuty)
    return ch


def test_pagerduty_trigger_acknowledge_resolve_share_one_dedup_key(receiver: Receiver) -> None:
    dedup = hashlib.sha256(GROUP_KEY.encode()).hexdigest()
    receiver.default = Reply(
        202, json.dumps({"status": "success", "message": "Event processed", "dedup_key": dedup})
    )
    ch = pd_channel(receiver)
    n = notification()
    sent = [
        ch.send(n),
        ch.acknowledge(n),
        ch.send(notification(alert(status="resolved", ends_at_ms=T0_MS + 1))),
    ]
    assert [(d.ok, d.status_code, d.action) for d in sent] == [
        (True, 202, "trigger"),
        (True, 202, "acknowledge"),
        (True, 202, "resolve"),
    ]
    trigger, ack, resolve = receiver.bodies("/v2/enqueue")
    assert {b["dedup_key"] for b in (trigger, ack, resolve)} == {dedup}
    assert {b["routing_key"] for b in (trigger, ack, resolve)} == {"R0UTINGKEY0123456789abcdefABCDEF"}
    assert [b["event_action"] for b in (trigger, ack, resolve)] == ["trigger", "acknowledge", "resolve"]
    assert set(ack) == set(resolve) == {"routing_key", "event_action", "dedup_key"}
    payload = trigger["payload"]
    assert payload["summary"] == "[FIRING:2] HostDown (host-1 critical)"
    assert payload["source"] == "host-1" and payload["severity"] == "critical"
    assert payload["timestamp"] == "2023-11-15T00:00:00.000Z" and payload["class"] == "HostDown"
    details = payload["custom_details"]
    assert details["num_firing"] == 2 and details["num_resolved"] == 0
    assert "Runbook: https://runbooks.example.com/HostDown" in details["firing"]
    assert trigger["client"] == "MCP Pulse" and trigger["client_url"] == "http://pulse.example.com"
    assert trigger["links"] == [{"href": "https://runbooks.example.com/HostDown", "text": "Runbook"}]


def test_pagerduty_severity_mapping_and_source(receiver: Receiver) -> None:
    receiver.default = Reply(202, '{"status": "success"}')
    ch = pd_channel(receiver, severity={"info": "error"}, source="pulse-prod")
    info = alert(name="DiskFilling", host="h2")
    info = type(info)(**{**info.__dict__, "labels": {**info.labels, "severity": "info"}})
    ch.send(notification(info))
    payload = receiver.requests[0].json["payload"]
    assert payload["severity"] == "error" and payload["source"] == "pulse-prod"


def test_pagerduty_invalid_event_is_not_retryable(receiver: Receiver) -> None:
    receiver.replies.append(Reply(400, '{"status": "invalid event", "message": "Event object is invalid"}'))
    d = pd_channel(receiver).send(notification())
    assert (d.ok, d.status_code, d.retryable) == (False, 400, False)
    assert "Event object is invalid" in d.error


def test_slack_keeps_within_the_block_limit(receiver: Receiver) -> None:
    many = [alert(host=f"host-{i}") for i in range(60)]
    build_channel(SlackChannel(name="s", webhook_url=receiver.url + "/a/b/c")).send(notification(*many))  # type: ignore[arg-type]
    blocks = receiver.requests[0].json["blocks"]
    assert len(blocks) == 50
    assert blocks[-2]["text"]["text"] == "_... and 13 more alert(s)_"
    assert blocks[0]["text"]["text"] == "[FIRING:60] HostDown (critical)"
