"""Issue 15 item 5: a crash while a webhook request is in flight re-sends that one notification
once after the restart, with the same idempotency key (``Idempotency-Key`` header and
``idempotencyKey`` in the payload), so the receiver can drop the duplicate.

The notifier is a real child process (real Dispatcher, Webhook channel, notification log and
outbox on SQLite) killed with SIGKILL while the receiver holds its request open."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from core.cli.main import ROOT

CHILD = textwrap.dedent(
    """
    import sys, time
    from core.alerts.channels import Dispatcher, build_channel
    from core.alerts.grouping import Grouper
    from core.alerts.routing import Route
    from core.kernel.settings.channels import RetrySettings, WebhookChannel
    from core.storage.engine import make_engine, upgrade
    from core.storage.repos.notifications import DbNotificationLog, DbOutbox
    from core.kernel.records.alerts import Alert

    db, url, phase = sys.argv[1:4]
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    channel = build_channel(WebhookChannel(name="ops", url=url, timeout_s=60))
    dispatcher = Dispatcher([channel], retry=RetrySettings(attempts=1), outbox=DbOutbox(engine))
    route = Route("0", ("ops",), (), ("alertname",), 0, 1000, 4 * 3_600_000, None, False, ())
    grouper = Grouper(route, DbNotificationLog(engine))
    now = int(time.time() * 1000)
    if phase == "restart":
        dispatcher.tick()  # retries: what the outbox holds from before the crash
    firing = Alert(
        labels={"alertname": "HostDown", "severity": "critical", "host": "db-1"},
        annotations={"summary": "HostDown on db-1"},
        status="firing",
        starts_at_ms=now - 60_000,
    )
    grouper.update([firing], now)
    grouper.flush_due(now, dispatcher.dispatch)
    print("done", flush=True)
    """
)


class HoldingReceiver:
    """Records every POST; holds the first one open (the notifier dies meanwhile), answers the rest."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.first_arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append((dict(self.headers.items()), json.loads(body)))
                if len(outer.requests) == 1:
                    outer.first_arrived.set()
                    time.sleep(5)  # processed here, but the answer never reaches the dead notifier
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


def run_child(db: Path, url: str, phase: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), url, phase],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_crash_mid_request_resends_once_with_the_same_key(tmp_path: Path) -> None:
    rcv = HoldingReceiver()
    db = tmp_path / "pulse.db"
    try:
        first = run_child(db, rcv.url, "first")
        if not rcv.first_arrived.wait(60):
            first.kill()
            raise AssertionError(first.communicate(timeout=30))
        first.kill()  # kill -9 while the request is in flight
        first.wait(10)

        again = run_child(db, rcv.url, "restart")
        out, err = again.communicate(timeout=90)
        assert again.returncode == 0 and out.strip() == "done", err
        # a third start with nothing in flight sends nothing more
        third = run_child(db, rcv.url, "restart")
        out, err = third.communicate(timeout=90)
        assert third.returncode == 0, err
    finally:
        rcv.server.shutdown()

    keys = [h.get("Idempotency-Key") for h, _ in rcv.requests]
    assert len(rcv.requests) == 2, f"{len(rcv.requests)} requests: {keys}"  # the one in flight + one re-send
    assert keys[0] and keys[0] == keys[1], keys
    assert [b.get("idempotencyKey") for _, b in rcv.requests] == keys
    assert rcv.requests[0][1]["alerts"] == rcv.requests[1][1]["alerts"]
