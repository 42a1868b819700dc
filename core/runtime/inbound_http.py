"""The daemon's inbound alert endpoint: a small WSGI app and its threaded loopback-style server.

``POST <path>`` with ``Authorization: Bearer <token>`` and an Alertmanager webhook (version 4)
JSON body. Every refusal is a 4xx with ``{"error": "<reason>"}`` and writes nothing; success is
``200 {"accepted": n}``. A database outage is a 503 so Alertmanager retries (it does not retry
4xx). The body is never read past ``max_body_bytes``. Requests are counted by outcome in
``pulse_inbound_requests_total`` and alerts by status in ``pulse_inbound_alerts_total``.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.engine import Engine

from core.alerts.inbound import InboundAlerts, InboundError
from core.kernel.errors import ConfigError, StorageError, StorageUnavailable
from core.kernel.settings.inbound import InboundSettings
from core.runtime.wsgi import CONNECTION, Served, serve_wsgi

log = logging.getLogger("pulse.inbound")

StartResponse = Callable[..., Any]
_BODY_READ = "pulse.body_read"
OUTCOMES = {
    200: "accepted",
    400: "invalid",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "timeout",
    411: "length_required",
    413: "too_large",
    415: "unsupported_media_type",
    500: "error",
    503: "unavailable",
}
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class InboundMetrics:
    """The endpoint's counters, on the daemon's registry (SelfMetrics().registry) or their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "pulse_inbound_requests",
            "Requests to the inbound alert endpoint, by outcome",
            ["outcome"],
            registry=r,
        )
        self.alerts = Counter(
            "pulse_inbound_alerts",
            "Alerts accepted from Alertmanager deliveries, by status",
            ["status"],
            registry=r,
        )
        for outcome in OUTCOMES.values():  # zero series from the start, so rate() works at once
            self.requests.labels(outcome=outcome)
        for status in ("firing", "resolved"):
            self.alerts.labels(status=status)


def _bearer_ok(header: str | None, token: bytes) -> bool | None:
    """None without credentials, else whether they match (constant time)."""
    if not header:
        return None
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), token)


class InboundApp:
    """The WSGI application; ``receiver`` parses and stores, this class speaks HTTP."""

    def __init__(self, receiver: InboundAlerts, metrics: InboundMetrics | None = None) -> None:
        self.receiver = receiver
        self.settings: InboundSettings = receiver.settings
        if self.settings.token is None:
            raise ConfigError("setting 'alerting.inbound.token': required to serve inbound alerts")
        self._token = self.settings.token.get_secret_value().encode()
        self.metrics = metrics if metrics is not None else InboundMetrics()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, body, headers = self._handle(environ)
        except InboundError as exc:
            status, body, headers = exc.status, {"error": exc.reason}, []
            level = logging.DEBUG if status == 404 else logging.WARNING  # scanners probe paths
            log.log(
                level,
                "inbound alerts from %s refused (%d): %s",
                environ.get("REMOTE_ADDR", "?"),
                status,
                exc.reason,
            )
        except StorageUnavailable as exc:
            status, body, headers = 503, {"error": f"database unavailable, retry later: {exc}"}, []
            headers.append(("Retry-After", "10"))
            log.warning("inbound alerts not stored: %s", exc)
        except StorageError as exc:
            status, body, headers = 503, {"error": f"the database refused the alerts: {exc}"}, []
            log.error("inbound alerts not stored: %s", exc)
        except Exception:  # a bug must not kill the server thread; the sender retries a 5xx
            log.exception("inbound alerts: unexpected error")
            status, body, headers = 500, {"error": "internal error; see the pulse collect log"}, []
        self.metrics.requests.labels(outcome=OUTCOMES.get(status, "error")).inc()
        sent_body = environ.get("CONTENT_LENGTH", "").strip() not in ("", "0") or environ.get(
            "HTTP_TRANSFER_ENCODING"
        )
        if sent_body and not environ.get(_BODY_READ):
            environ.get(CONNECTION, {})["unread_body"] = True
        data = json.dumps(body).encode()
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        start_response(f"{status} {_REASONS[status]}", headers)
        return [data]

    def _handle(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        if environ.get("PATH_INFO", "") != self.settings.path:
            raise InboundError(404, f"no such path; inbound alerts are posted to {self.settings.path}")
        if environ.get("REQUEST_METHOD") != "POST":
            return 405, {"error": "only POST is accepted"}, [("Allow", "POST")]
        ok = _bearer_ok(environ.get("HTTP_AUTHORIZATION"), self._token)
        if not ok:
            reason = "missing bearer token" if ok is None else "invalid bearer token"
            log.warning("inbound alerts from %s refused (401): %s", environ.get("REMOTE_ADDR", "?"), reason)
            return 401, {"error": reason}, [("WWW-Authenticate", 'Bearer realm="pulse"')]
        ctype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            raise InboundError(415, f"content type must be application/json, got {ctype[:60] or 'none'}")
        body = self._read_body(environ)
        states = self.receiver.parse(body)
        done = self.receiver.record(states)
        self.metrics.alerts.labels(status="firing").inc(done.firing)
        self.metrics.alerts.labels(status="resolved").inc(done.resolved)
        if done.transitions:
            log.info("inbound alerts: %d accepted, %d state changes", done.alerts, len(done.transitions))
        return 200, {"accepted": done.alerts}, []

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        limit = self.settings.max_body_bytes
        raw = environ.get("CONTENT_LENGTH", "").strip()
        if not raw:
            raise InboundError(411, "Content-Length is required (chunked bodies are not accepted)")
        if not raw.isdigit():
            raise InboundError(400, "Content-Length must be a number of bytes")
        length = int(raw)
        if length > limit:
            raise InboundError(413, f"body of {length} bytes is over the limit of {limit} bytes")
        stream = environ["wsgi.input"]
        chunks, got = [], 0
        try:
            while got < length:
                chunk = stream.read(min(65536, length - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        except TimeoutError:
            raise InboundError(408, "the body did not arrive in time") from None
        except OSError as exc:
            raise InboundError(400, f"the connection failed while reading the body ({exc})") from None
        environ[_BODY_READ] = True
        if got < length:
            raise InboundError(400, f"body ended after {got} of {length} bytes")
        return b"".join(chunks)


# -- the server -------------------------------------------------------------------------------
InboundServer = Served[InboundApp]


def serve(app: InboundApp, host: str, port: int, read_timeout_s: float = 10.0) -> InboundServer:
    """Serve ``app`` on ``host:port`` (0 = a free port) in a daemon thread; ``url`` ends in its path."""
    served = serve_wsgi(app, host, port, read_timeout_s, "inbound")
    served.url += app.settings.path
    return served


def start_inbound(
    settings: InboundSettings,
    engine: Engine,
    registry: CollectorRegistry | None = None,
    **receiver_kw: Any,
) -> InboundServer:
    """Start the endpoint for the daemon, or raise ConfigError naming the setting to fix."""
    receiver = InboundAlerts(engine, settings, **receiver_kw)
    app = InboundApp(receiver, InboundMetrics(registry))
    try:
        return serve(app, settings.host, settings.port, settings.read_timeout_s)
    except OSError as exc:
        raise ConfigError(
            f"setting 'alerting.inbound.port': cannot serve inbound alerts on {settings.host}:{settings.port} "
            f"({exc}); pick a free port, or 0 for any"
        ) from exc
