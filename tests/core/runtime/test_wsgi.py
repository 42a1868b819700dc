"""The daemon's HTTP servers: warm threads answer, and clients that hold every warm thread do
not hold up the next request."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from typing import Any

from core.runtime.wsgi import _Server, serve_wsgi


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [threading.current_thread().name.encode()[:2]]


def test_requests_are_answered_on_warm_threads() -> None:
    served = serve_wsgi(_app, "127.0.0.1", 0, 5.0, "t")
    try:
        names = set()
        for _ in range(20):
            with urllib.request.urlopen(served.url + "/") as reply:
                names.add(reply.read())
        assert names == {b"pu"}  # "pulse-http_N": the pool's threads, not one made per request
    finally:
        served.stop()


def test_clients_that_send_nothing_do_not_hold_up_the_next_request() -> None:
    served = serve_wsgi(_app, "127.0.0.1", 0, 5.0, "t")
    silent = []
    try:
        for _ in range(_Server.warm_threads + 2):  # every warm thread waits for a request line
            silent.append(socket.create_connection(("127.0.0.1", served.port)))
        time.sleep(0.3)
        t0 = time.monotonic()
        with urllib.request.urlopen(served.url + "/", timeout=3) as reply:
            assert reply.status == 200
        assert time.monotonic() - t0 < 2.5  # answered on a thread of its own, not after the 5 s timeouts
    finally:
        for s in silent:
            s.close()
        served.stop()
