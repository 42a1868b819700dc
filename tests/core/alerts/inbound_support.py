"""Helpers of the inbound alert tests: HTTP clients that can misbehave, payloads, and an
Alertmanager whose receiver is a webhook to Pulse's inbound endpoint."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.kernel.records.alerts import rfc3339
from tests.promstack import Alertmanager

TOKEN = "s3cret-inbound-token-0123456789"


def payload(*alerts: dict[str, Any], receiver: str = "team-a", version: Any = "4") -> dict[str, Any]:
    status = "firing" if any(a.get("status") == "firing" for a in alerts) else "resolved"
    return {
        "version": version,
        "groupKey": '{}:{alertname="HostDown"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"alertname": "HostDown"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com",
        "alerts": list(alerts),
    }


def am_alert(
    starts_ms: int,
    status: str = "firing",
    ends_ms: int | None = None,
    fingerprint: str | None = "0000000000000000",
    **labels: str,
) -> dict[str, Any]:
    """One alert as Alertmanager's webhook writes it (its fingerprint is deliberately wrong by
    default: Pulse must recompute it)."""
    a: dict[str, Any] = {
        "status": status,
        "labels": {"alertname": "HostDown", "severity": "critical", **labels},
        "annotations": {"summary": "host stopped answering"},
        "startsAt": rfc3339(starts_ms),
        "endsAt": rfc3339(ends_ms),
        "generatorURL": "http://prometheus.example.com/graph?g0.expr=up+%3D%3D+0",
    }
    if fingerprint is not None:
        a["fingerprint"] = fingerprint
    return a


def post(
    url: str,
    body: bytes | dict[str, Any] | list[Any],
    token: str | None = TOKEN,
    method: str = "POST",
    content_type: str = "application/json",
    path: str | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """One request with http.client; returns (status, JSON body, headers)."""
    parts = urlsplit(url)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path or parts.path, body=data if method == "POST" else None, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def raw_request(
    url: str, head: bytes, body: bytes = b"", read_first: bool = False
) -> tuple[int, dict[str, Any]]:
    """Send ``head`` (request line and headers, CRLF separated, no final blank line) and ``body``
    over a plain socket; with ``read_first`` the reply is read before the body is sent."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall(head + b"\r\n\r\n")
        if not read_first:
            s.sendall(body)
            s.shutdown(socket.SHUT_WR)  # the server must not reset us: it drains a refused body
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    reply = b"".join(chunks)
    status_line, _, rest = reply.partition(b"\r\n")
    _, _, body_out = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(body_out)


class WebhookAlertmanager(Alertmanager):
    """tests.promstack's Alertmanager, its one receiver a webhook to ``url`` with a bearer token."""

    def __init__(self, root: Path, url: str, token: str, receiver: str = "pulse") -> None:
        super().__init__(root)
        (root / "alertmanager.yml").write_text(
            "route:\n"
            f"  receiver: {receiver}\n"
            "  group_by: [alertname]\n"
            "  group_wait: 1s\n"
            "  group_interval: 1s\n"
            "  repeat_interval: 1h\n"
            "receivers:\n"
            f"  - name: {receiver}\n"
            "    webhook_configs:\n"
            f"      - url: {json.dumps(url)}\n"
            "        send_resolved: true\n"
            "        max_alerts: 0\n"
            "        http_config:\n"
            "          authorization:\n"
            "            type: Bearer\n"
            f"            credentials: {json.dumps(token)}\n"
        )

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """``POST /api/v2/alerts`` as Prometheus does."""
        status, _, _ = _post_json(f"{self.url}/api/v2/alerts", alerts)
        if status != 200:
            raise RuntimeError(f"Alertmanager refused the alerts: HTTP {status}")


def _post_json(url: str, body: Any) -> tuple[int, bytes, None]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(
            "POST", parts.path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        resp = conn.getresponse()
        return resp.status, resp.read(), None
    finally:
        conn.close()
