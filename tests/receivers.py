"""A local HTTP receiver, a real Alertmanager and sample notifications, for the tests that notify.

The fixtures `receiver` and `alertmanager` are registered for every test by tests/conftest.py."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from core.kernel.records.alerts import Alert, Notification
from tests.conftest import T0_MS
from tests.promstack import ALERTMANAGER, Alertmanager, cleanup, free_port, require_binary


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """An HTTP server on a loopback port that records every request; stoppable and restartable.

    Replies come from ``replies`` (first in, first out), then ``default``.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[Received] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(Received("POST", self.path, dict(self.headers.items()), body))
                    reply = receiver.replies.popleft() if receiver.replies else receiver.default
                data = reply.body.encode()
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
                pass

        return Handler

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def bodies(self, path: str | None = None) -> list[Any]:
        return [r.json for r in self.requests if path is None or r.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Alertmanager]:
    require_binary(ALERTMANAGER, "prometheus-alertmanager")
    root = tmp_path / "am"
    am = Alertmanager(root)
    am.start()
    yield am
    am.stop()
    cleanup(root)


def alert(
    name: str = "HostDown",
    status: str = "firing",
    starts_at_ms: int = T0_MS,
    ends_at_ms: int | None = None,
    **labels: str,
) -> Alert:
    return Alert(
        labels={"alertname": name, "severity": "critical", **labels},
        annotations={
            "summary": f"{name} on {labels.get('host', 'somewhere')}",
            "description": "The host stopped answering.",
            "runbook_url": f"https://runbooks.example.com/{name}",
        },
        status=status,  # type: ignore[arg-type]
        starts_at_ms=starts_at_ms,
        ends_at_ms=ends_at_ms,
        value=1.0,
        generator_url="http://pulse.example.com/alerts?rule=" + name,
    )


def notification(
    *alerts: Alert, group_key: str = '{}:{alertname="HostDown"}', receiver: str = "ops"
) -> Notification:
    alerts = alerts or (
        alert(host="host-1", instance="host-1:9100"),
        alert(host="host-1", instance="host-1:9200"),
    )
    return Notification(
        receiver=receiver,
        group_key=group_key,
        group_labels={"alertname": alerts[0].name},
        alerts=tuple(alerts),
        external_url="http://pulse.example.com",
    )
