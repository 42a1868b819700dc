"""The daemon's Prometheus HTTP API: ``/api/v1/query``, ``query_range``, ``series``, ``labels``,
``label/<name>/values``, ``metadata``, ``rules``, ``alerts``, ``status/buildinfo`` and remote
write (``/api/v1/write``).

Replies use Prometheus' envelope (``{"status": "success", "data": ...}`` or ``{"status": "error",
"errorType": ..., "error": ...}``) and status codes, so Grafana's Prometheus data source and
``prometheus-api-client`` read Pulse unchanged. Every request needs ``Authorization: Bearer``
with one of ``[[api.tokens]]``: a token with ``teams`` reads only those teams' series (the
narrowing of the pages, ``core.views.promql_scope.TeamSource``), one without reads everything.
Only a ``write = true`` (admin) token may remote-write. Tokens are compared in constant time and
never logged (the token's ``name`` is).
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Iterable
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson
from prometheus_client import CollectorRegistry, Counter

from core.kernel.errors import ConfigError, QueryError, StorageError
from core.kernel.settings.api import ApiSettings, ApiToken
from core.runtime import promapi_read as read
from core.runtime import promapi_rules
from core.runtime.remote_write import WriteRefused, decode
from core.runtime.wsgi import CONNECTION, Served, serve_wsgi

if TYPE_CHECKING:
    from core.runtime.alerting import AlertService
    from core.runtime.spool import BufferedWriter
    from core.storage.tsdb.store import Store

log = logging.getLogger("pulse.api")
Reply = tuple[int, Any, list[tuple[str, str]]]  # status, JSON body (None: empty), headers
ENDPOINTS = {**read.ENDPOINTS, **promapi_rules.ENDPOINTS}


def _json(body: Any) -> bytes:
    """The reply's JSON (orjson: a range query's matrix is ~10^5 points; ~8x faster than json)."""
    try:
        return orjson.dumps(body)
    except TypeError:  # what orjson does not take (an int over 64 bits): the standard library's
        return json.dumps(body, default=_fragment).encode()


def _fragment(o: object) -> Any:
    if isinstance(o, orjson.Fragment):  # ready JSON text (a matrix's points): parsed back for json
        return orjson.loads(o.contents)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


class ApiError(Exception):
    def __init__(self, status: int, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.error_type, self.reason = status, error_type, reason


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "pulse_api_requests", "Requests to the API by endpoint and code", ["endpoint", "code"], registry=r
        )
        self.written = Counter("pulse_remote_write_samples", "Remote-write samples received", registry=r)


class PromApiApp:
    """The WSGI application of the API."""

    def __init__(
        self,
        settings: ApiSettings,
        store: Store,
        writer: BufferedWriter | None,
        metrics: ApiMetrics | None = None,
        alerting: AlertService | None = None,
    ) -> None:
        if not settings.tokens:
            raise ConfigError("setting 'api.tokens': at least one token is required to serve the API")
        self.settings, self.store, self.writer = settings, store, writer
        self.alerting = alerting
        self.metrics = metrics if metrics is not None else ApiMetrics()
        self._tokens = [(t, t.token.get_secret_value().encode()) for t in settings.tokens]
        self._slots = threading.BoundedSemaphore(settings.max_concurrent_queries)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        environ["pulse.body_read"] = False
        try:
            status, body, headers = self._handle(environ, path)
        except ApiError as exc:
            status, headers = exc.status, []
            body = {"status": "error", "errorType": exc.error_type, "error": exc.reason}
            if status == 401:
                headers.append(("WWW-Authenticate", 'Bearer realm="pulse"'))
        except StorageError as exc:
            log.warning("api %s: storage unavailable: %s", path, exc)
            status, headers = 503, [("Retry-After", "10")]
            body = {
                "status": "error",
                "errorType": "unavailable",
                "error": f"the database is unavailable: {exc}",
            }
        except Exception:
            log.exception("api %s: unexpected error", path)
            status, headers = 500, []
            body = {
                "status": "error",
                "errorType": "internal",
                "error": "internal error; see the pulse collect log",
            }
        endpoint = (
            path if path in ENDPOINTS or path in ("/api/v1/write", "/-/healthy", "/-/ready") else "other"
        )
        if path.startswith("/api/v1/label/"):
            endpoint = "/api/v1/label/:name/values"
        self.metrics.requests.labels(endpoint=endpoint, code=str(status)).inc()
        if environ.get("CONTENT_LENGTH", "").strip() not in ("", "0") and not environ["pulse.body_read"]:
            environ.get(CONNECTION, {})["unread_body"] = True
        data = b"" if body is None else _json(body)
        if body is not None:
            headers.append(("Content-Type", "application/json"))
        headers.append(("Content-Length", str(len(data))))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [data]

    def _handle(self, environ: dict[str, Any], path: str) -> Reply:
        method = environ.get("REQUEST_METHOD", "GET")
        if path in ("/-/healthy", "/-/ready"):  # for load balancers, without a token, as Prometheus
            return 200, {"status": "success", "data": "Pulse is ready."}, []
        token = self._auth(environ.get("HTTP_AUTHORIZATION"))
        if path == "/api/v1/write":
            if method != "POST":
                return (
                    405,
                    {"status": "error", "errorType": "bad_data", "error": "only POST"},
                    [("Allow", "POST")],
                )
            return self._write(environ, token)
        handler = ENDPOINTS.get(path)
        if handler is None and path.startswith("/api/v1/label/") and path.endswith("/values"):
            handler = partial(read.label_values, name=path[len("/api/v1/label/") : -len("/values")])
        if handler is None:
            raise ApiError(404, "not_found", f"no such endpoint {path[:100]!r}")
        if method not in ("GET", "POST"):
            return (
                405,
                {"status": "error", "errorType": "bad_data", "error": "only GET and POST"},
                [("Allow", "GET, POST")],
            )
        params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if method == "POST":
            ctype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
            if ctype not in ("", "application/x-www-form-urlencoded"):
                raise ApiError(415, "bad_data", "POST bodies must be application/x-www-form-urlencoded")
            body = self._body(environ, 1 << 20).decode("utf-8", "replace")
            for k, v in parse_qs(body, keep_blank_values=True).items():
                params.setdefault(k, []).extend(v)
        ctx = read.Request(self.settings, self.store, token.teams, params, self.alerting)
        if not self._slots.acquire(timeout=self.settings.timeout_s):  # queued, as Prometheus does
            raise ApiError(503, "timeout", "too many concurrent queries; retry later")
        try:
            with self.store.pinned():  # the request's reads on one connection
                return 200, {"status": "success", "data": handler(ctx)}, []
        except read.BadParam as exc:
            raise ApiError(400, "bad_data", str(exc)) from None
        except QueryError as exc:
            error_type, status = read.classify(exc)
            raise ApiError(status, error_type, str(exc)) from None
        finally:
            self._slots.release()

    def _auth(self, header: str | None) -> ApiToken:
        scheme, _, given = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise ApiError(401, "unauthorized", "missing bearer token (Authorization: Bearer <token>)")
        raw = given.strip().encode("utf-8", "surrogateescape")
        found = None
        for tok, secret in self._tokens:  # every token compared: the time does not tell which matched
            if hmac.compare_digest(raw, secret):
                found = tok
        if found is None:
            raise ApiError(401, "unauthorized", "invalid bearer token")
        return found

    def _body(self, environ: dict[str, Any], limit: int) -> bytes:
        raw = environ.get("CONTENT_LENGTH", "").strip()
        if not raw.isdigit():
            raise ApiError(411 if not raw else 400, "bad_data", "Content-Length is required")
        if int(raw) > limit:
            raise ApiError(413, "bad_data", f"body of {raw} bytes is over the limit of {limit} bytes")
        data = environ["wsgi.input"].read(int(raw)) if int(raw) else b""
        environ["pulse.body_read"] = True
        if len(data) < int(raw):
            raise ApiError(400, "bad_data", f"body ended after {len(data)} of {raw} bytes")
        return bytes(data)

    def _write(self, environ: dict[str, Any], token: ApiToken) -> Reply:
        if not token.write or self.writer is None:
            raise ApiError(
                403,
                "forbidden",
                f"token {token.name!r} may not remote-write (set write = true on an admin token)",
            )
        encoding = environ.get("HTTP_CONTENT_ENCODING", "snappy").strip().lower()
        if encoding != "snappy":
            raise ApiError(415, "bad_data", f"Content-Encoding must be snappy, got {encoding[:40]!r}")
        limit = self.settings.max_write_bytes
        try:
            samples = decode(self._body(environ, limit), limit, self.settings.max_write_samples)
        except WriteRefused as exc:
            log.warning(
                "remote write from %s (%s) refused: %s",
                environ.get("REMOTE_ADDR", "?"),
                token.name,
                exc.reason,
            )
            raise ApiError(exc.status, "bad_data", exc.reason) from None
        result = self.writer.write(samples)  # an outage buffers them (memory, then spool): nothing lost
        self.metrics.written.inc(len(samples))
        if samples and result.rejected and not result.accepted and not self.writer.pending:
            reasons = ", ".join(sorted(map(str, result.rejected))[:5])
            raise ApiError(400, "bad_data", f"all {len(samples)} samples rejected by the store: {reasons}")
        return 204, None, []


ApiServer = Served[PromApiApp]


def serve_api(app: PromApiApp, host: str, port: int, read_timeout_s: float = 10.0) -> ApiServer:
    """Serve ``app`` in a daemon thread (0 = a free port), or raise ConfigError naming the setting."""
    try:
        return serve_wsgi(app, host, port, read_timeout_s, "api")
    except OSError as exc:
        raise ConfigError(
            f"setting 'api.port': cannot serve the API on {host}:{port} ({exc}); pick a free port, or 0"
        ) from exc


def start_api(
    settings: ApiSettings,
    store: Store,
    writer: BufferedWriter | None,
    registry: CollectorRegistry | None = None,
    alerting: AlertService | None = None,
) -> ApiServer:
    """Start the API for the daemon, or raise ConfigError naming the setting to fix."""
    app = PromApiApp(settings, store, writer, ApiMetrics(registry), alerting)
    return serve_api(app, settings.host, settings.port, settings.read_timeout_s)
