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


def test_a_small_reply_leaves_in_one_send(monkeypatch: Any) -> None:
    sends: list[str] = []

    def spy(name: str) -> Any:
        real = getattr(socket.socket, name)

        def counted(self: socket.socket, data: Any, *args: Any) -> Any:
            if threading.current_thread().name.startswith("pulse-http"):
                sends.append(name)
            return real(self, data, *args)

        return counted

    for name in ("send", "sendall"):  # a buffered socket file sends with send()
        monkeypatch.setattr(socket.socket, name, spy(name))
    served = serve_wsgi(_app, "127.0.0.1", 0, 5.0, "t")
    try:
        with urllib.request.urlopen(served.url + "/") as reply:
            assert reply.read() == b"pu"
    finally:
        served.stop()
    assert len(sends) == 1, sends  # status line, headers and body together, not five writes


def test_a_streamed_reply_is_not_held_back() -> None:
    sent_first = threading.Event()
    client_saw_first = threading.Event()

    def streaming(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first\n"
        sent_first.set()
        client_saw_first.wait(5)  # the second chunk only once the first arrived
        yield b"second\n" if client_saw_first.is_set() else b"held back\n"

    served = serve_wsgi(streaming, "127.0.0.1", 0, 5.0, "t")
    try:
        with urllib.request.urlopen(served.url + "/", timeout=10) as reply:
            assert reply.readline() == b"first\n"
            client_saw_first.set()
            assert reply.readline() == b"second\n"
    finally:
        served.stop()
