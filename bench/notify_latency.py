"""Notification latency: from the moment a rule's condition holds to the receiver getting it.

Target (issue): within one evaluation interval plus group_wait (of the condition holding for
``for``; here ``for`` is 0). The service runs as the daemon runs it: the rule group every
``INTERVAL_S``, the notify stage every second; a webhook receiver on loopback takes the POST.
"""

from __future__ import annotations

import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.common import Row, fresh_store
from core.kernel.samples import Sample, labels_of
from core.runtime.alerting import AlertService

INTERVAL_S, GROUP_WAIT_S, NOTIFY_S, RUNS = 2.0, 1.0, 1.0, 5


class _Hook(BaseHTTPRequestHandler):
    arrived: list[float] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Hook.arrived.append(time.monotonic())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def run(folder: Path) -> list[Row]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rules = folder / "latency-rules.yml"
    rules.write_text(
        f"groups:\n  - name: lat\n    interval: {INTERVAL_S}s\n    rules:\n"
        "      - alert: Stuck\n        query: depth\n        over: last\n        window: 1m\n        threshold: 100\n"
    )
    alerting = {
        "default_rules": False,
        "rule_files": [str(rules)],
        "channels": [{"type": "webhook", "name": "hook", "url": f"http://127.0.0.1:{server.server_port}/"}],
        "route": {"receivers": ["hook"], "group_wait": GROUP_WAIT_S, "group_interval": "5m"},
    }
    waits = []
    for i in range(RUNS):
        store = fresh_store(folder, f"latency{i}", alerting=alerting)
        service = AlertService(store.settings, store)
        _Hook.arrived.clear()
        start = time.monotonic()
        held = start + 0.3 + (i / RUNS) * INTERVAL_S  # the condition starts at a different phase each run
        next_eval, next_tick, written = start, start, False
        while not _Hook.arrived and time.monotonic() - start < 30:
            now = time.monotonic()
            if not written and now >= held:
                store.write([Sample("depth", labels_of(queue="q"), int(time.time() * 1000) - 1, 500.0)])
                written = True
            if now >= next_eval:
                service.evaluate("lat")
                next_eval += INTERVAL_S
            if now >= next_tick:
                service.tick()
                next_tick += NOTIFY_S
            time.sleep(0.01)
        if _Hook.arrived:
            waits.append(_Hook.arrived[0] - held)
        service.close()
        store.close()
    server.shutdown()
    bound = INTERVAL_S + GROUP_WAIT_S
    worst = max(waits) if len(waits) == RUNS else float("inf")
    return [
        Row(
            f"condition holds -> webhook has the notification (interval {INTERVAL_S:g} s, group_wait {GROUP_WAIT_S:g} s, {RUNS} phases)",
            f"median {statistics.median(waits):.2f} s, worst {worst:.2f} s" if waits else "never arrived",
            f"worst = {worst / bound:.2f}x interval + group_wait",
            f"<= {bound:g} s (+ the {NOTIFY_S:g} s notify tick)",
            "ok" if worst <= bound + NOTIFY_S else "MISS",
        )
    ]
