"""The daemon's small HTTP servers (inbound alerts, the Prometheus API): one threaded WSGI server.

A handler drops a client that stops sending (socket timeout) and, after a reply that left the
request body unread (a 4xx before reading), lingers briefly so the client sees the reply rather
than a connection reset. The app marks that case with ``environ[CONNECTION]["unread_body"]``.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any, Generic, TypeVar, cast
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from core.runtime.selfmetrics import stop_server

log = logging.getLogger(__name__)
CONNECTION = "pulse.connection"  # environ: flags for the server, e.g. the reply left the body unread
App = TypeVar("App")


class _Server(ThreadingMixIn, WSGIServer):
    """Requests run on a few warm threads, and on a new thread each only when those are all busy
    (a slow client never holds the others up). A thread made for one request answers ~2 ms slower
    on a 3 ms query than a warm one (its first allocations fault in a fresh malloc arena), which
    is most of what a small PromQL query costs."""

    daemon_threads = True
    warm_threads = 8

    def server_activate(self) -> None:
        super().server_activate()
        self._warm = ThreadPoolExecutor(self.warm_threads, thread_name_prefix="pulse-http")
        self._idle = threading.Semaphore(self.warm_threads)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._idle.acquire(blocking=False):
            super().process_request(request, client_address)  # all warm threads busy: a new one
            return
        self._warm.submit(self._on_warm_thread, request, client_address)

    def _on_warm_thread(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)  # finishes and closes the request
        finally:
            self._idle.release()

    def server_close(self) -> None:
        super().server_close()
        if hasattr(self, "_warm"):
            self._warm.shutdown(wait=False, cancel_futures=True)


class _Handler(WSGIRequestHandler):
    timeout = 10.0  # a client that stops sending is dropped (socket timeout)
    # Replies buffered: wsgiref writes the status line, each header group and the body apart,
    # five sendall() calls for a small reply (0.1 ms of a 0.6 ms request); one when buffered.
    # wsgiref flushes after every body chunk, so a streamed reply is not held back.
    wbufsize = 1 << 16
    linger_s = 2.0  # after refusing an unread body, how long to discard what the client still sends

    def get_environ(self) -> dict[str, Any]:
        env: dict[str, Any] = super().get_environ()
        self._flags: dict[str, bool] = {}
        env[CONNECTION] = self._flags  # shared by reference: wsgiref gives the app a copy of env
        return env

    def handle(self) -> None:
        super().handle()
        if getattr(self, "_flags", {}).get("unread_body"):
            self._linger()

    def _linger(self) -> None:
        """Let a client that sends its body before reading the reply see the 4xx, not a reset.

        The body is discarded, never kept, for at most ``linger_s`` (as nginx's lingering close):
        closing with unread data would make the kernel reset the connection.
        """
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + self.linger_s
            while (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                if not self.connection.recv(65536):
                    break
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


@dataclass
class Served(Generic[App]):
    """A running server: its port (the one bound when 0 was asked), its base URL and its app."""

    server: WSGIServer
    thread: threading.Thread
    port: int
    url: str  # http://host:port
    app: App

    def stop(self) -> None:
        stop_server(self.server, self.thread)


def serve_wsgi(app: App, host: str, port: int, read_timeout_s: float, name: str) -> Served[App]:
    """Serve ``app`` on ``host:port`` (0 = a free port) in a daemon thread named ``pulse-<name>``;
    OSError when the address cannot be bound."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    server_cls = type(f"{name}WSGIServer", (_Server,), {"address_family": family})
    handler_cls = type(f"{name}Handler", (_Handler,), {"timeout": read_timeout_s})
    server: WSGIServer = make_server(host, port, cast(Any, app), server_cls, handler_cls)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name=f"pulse-{name}", daemon=True)
    thread.start()
    bound = int(server.server_port)
    shown = f"[{host}]" if ":" in host else host
    return Served(server, thread, bound, f"http://{shown}:{bound}", app)
