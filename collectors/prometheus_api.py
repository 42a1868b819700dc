"""The HTTP side of the prometheus source: prometheus-api-client calls and what their failures mean.

:class:`PromApi` wraps ``PrometheusConnect`` (``custom_query`` / ``custom_query_range``) and turns
every failure into a :class:`QueryFailed` whose reason names the URL, the HTTP status, the first
200 characters of the body and what to do. ``source_wide`` failures (cannot connect, timeout,
TLS, 401/403/404, a body that is not the Prometheus API) would fail every other query the same
way, so the collector stops asking for this tick; the rest (bad PromQL, a query Prometheus could
not execute) concern one query only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
from prometheus_api_client import PrometheusApiClientException
from urllib3.util.retry import Retry

from core.kernel.settings.sources.prometheus import PrometheusSource

BODY_CHARS = 200
_URLLIB3_PREFIX = re.compile(r"^(<[^>]*>|HTTPS?Connection(Pool)?\([^)]*\)): ")
Point = tuple[int, str]  # (ms, value as Prometheus writes it: "1.5", "NaN", "+Inf")
Series = tuple[dict[str, str], list[Point]]


class QueryFailed(Exception):
    def __init__(self, reason: str, *, source_wide: bool) -> None:
        super().__init__(reason)
        self.reason, self.source_wide = reason, source_wide


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"


def _inner(exc: BaseException) -> str:
    """The innermost useful reason of a requests error ("[Errno 111] Connection refused")."""
    seen: BaseException | None = exc
    reason = str(exc)
    while seen is not None:
        nested = getattr(seen, "reason", None) or (seen.args[0] if seen.args else None)
        if isinstance(nested, BaseException) and nested is not seen:
            seen = nested
            reason = str(nested)
        else:
            break
    # urllib3 prefixes "HTTPConnection(host='...', port=...): " or "<... object at 0x...>: "
    return _URLLIB3_PREFIX.sub("", reason)


class PromApi:
    """One Prometheus server, read through prometheus-api-client with Pulse's error messages."""

    def __init__(self, cfg: PrometheusSource, connect: Callable[..., Any]) -> None:
        self.url = cfg.url.rstrip("/")
        self.timeout_s = cfg.timeout_s
        self.has_auth = cfg.bearer_token is not None or cfg.basic_auth_user is not None
        self.last: requests.Response | None = None
        session = requests.Session()
        session.verify = (cfg.ca_file or True) if cfg.verify_tls else False
        session.hooks["response"].append(self._record)
        headers = {}
        if cfg.bearer_token is not None:
            headers["Authorization"] = f"Bearer {cfg.bearer_token.get_secret_value()}"
        auth = None
        if cfg.basic_auth_user is not None and cfg.basic_auth_password is not None:
            auth = (cfg.basic_auth_user, cfg.basic_auth_password.get_secret_value())
        self.client = connect(
            url=self.url,
            headers=headers or None,
            disable_ssl=not cfg.verify_tls,
            auth=auth,
            # no retries inside a tick: the scheduler backs off with jitter after a failure
            # (read=False: urllib3 re-raises a read timeout as itself, so requests says Timeout)
            retry=Retry(total=0, read=False),
            session=session,
            timeout=cfg.timeout_s,
        )
        # Prometheus gives up on a query a little before the client does, so a query too heavy for
        # timeout_s comes back as its own error (HTTP 503, errorType timeout), not a dead server
        self._params = {"timeout": f"{max(cfg.timeout_s * 0.8, cfg.timeout_s - 1):.3f}"}  # seconds

    def _record(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        self.last = response

    def close(self) -> None:
        self.client.close()

    # -- queries -----------------------------------------------------------------------------

    def instant(self, promql: str, at_ms: int) -> list[Series]:
        params = {**self._params, "time": _seconds(at_ms)}
        result = self._call(lambda: self.client.custom_query(promql, params=params))
        try:
            if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
                return [({}, [_point(result)])]  # a scalar: [ts, "value"]
            return [(_metric(r), [_point(r["value"])]) for r in result]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise self._not_the_api("JSON that is not a Prometheus query result") from exc

    def range(self, promql: str, start_ms: int, end_ms: int, step_ms: int) -> list[Series]:
        start = datetime.fromtimestamp(start_ms / 1000, UTC)
        end = datetime.fromtimestamp(end_ms / 1000, UTC)
        # the client rounds start and end to whole seconds; exact ones keep the grid on end_ms
        params = {**self._params, "start": _seconds(start_ms), "end": _seconds(end_ms)}
        step = _seconds(step_ms)
        result = self._call(lambda: self.client.custom_query_range(promql, start, end, step, params=params))
        try:
            return [(_metric(r), [_point(v) for v in r["values"]]) for r in result]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise self._not_the_api("JSON that is not a Prometheus range query result") from exc

    # -- failures ----------------------------------------------------------------------------

    def _call(self, fn: Callable[[], Any]) -> Any:
        self.last = None
        try:
            return fn()
        except requests.exceptions.JSONDecodeError as exc:
            raise self._not_the_api("a body that is not JSON") from exc
        except requests.exceptions.SSLError as exc:
            raise QueryFailed(
                f"TLS with {self.url} failed ({_inner(exc)}); set ca_file to the CA that signed its "
                "certificate (or verify_tls = false on a trusted network)",
                source_wide=True,
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise QueryFailed(
                f"{self.url} did not answer within timeout_s = {self.timeout_s:g}s; check the server's "
                "load and the network, or raise timeout_s",
                source_wide=True,
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise QueryFailed(
                f"cannot connect to {self.url} ({_inner(exc)}); check the url and that Prometheus is "
                "running and reachable from here",
                source_wide=True,
            ) from exc
        except requests.exceptions.RequestException as exc:  # a body cut short, a bad encoding
            raise QueryFailed(
                f"the answer of {self.url} broke off ({type(exc).__name__}: {_inner(exc)}); "
                "the server or a proxy in between dropped the connection",
                source_wide=True,
            ) from exc
        except PrometheusApiClientException as exc:
            raise self._http_error(exc) from exc
        except (KeyError, TypeError, IndexError) as exc:  # the client's response.json()["data"]["result"]
            raise self._not_the_api("JSON that is not a Prometheus API response") from exc
        except OSError as exc:  # e.g. an unreadable ca_file
            raise QueryFailed(f"cannot query {self.url}: {exc}", source_wide=True) from exc

    def _body(self) -> str:
        if self.last is None:
            return ""
        try:
            text = self.last.content.decode("utf-8", "replace")
        except Exception:  # the body itself could not be read
            return ""
        return " ".join(text.split())[:BODY_CHARS]

    def _status(self) -> str:
        r = self.last
        if r is None:
            return "HTTP ?"
        ctype = r.headers.get("Content-Type", "no content type").split(";")[0]
        return f"HTTP {r.status_code} {r.reason or ''}".rstrip() + f" ({ctype})"

    def _not_the_api(self, what: str) -> QueryFailed:
        return QueryFailed(
            f"{self.url} answered {self._status()} with {what}: {self._body()!r}; the url must be "
            "the Prometheus server's base URL (not a login page, a proxy's error page or /graph)",
            source_wide=True,
        )

    def _http_error(self, exc: PrometheusApiClientException) -> QueryFailed:
        r = self.last
        if r is None:
            return QueryFailed(f"{self.url}: {exc}", source_wide=False)
        status, body = r.status_code, self._body()
        api_error = None
        try:
            doc = json.loads(r.content)
            api_error = f"{doc.get('errorType', 'error')}: {doc['error']}"
        except (ValueError, TypeError, KeyError, AttributeError):
            pass
        if status in (401, 407):
            todo = (
                "the configured credentials were refused; check them"
                if self.has_auth
                else "the server wants credentials: set basic_auth_user/basic_auth_password or bearer_token"
            )
            return QueryFailed(f"{self.url} answered {self._status()}: {body!r}; {todo}", source_wide=True)
        if status == 403:
            return QueryFailed(
                f"{self.url} answered {self._status()}: {body!r}; these credentials may not read this "
                "server's API",
                source_wide=True,
            )
        if status == 404:
            return QueryFailed(
                f"{self.url} has no Prometheus API ({self._status()} for {r.url.split('?')[0]}: {body!r}); "
                "the url must be the server's base URL, with its --web.route-prefix if it has one",
                source_wide=True,
            )
        if api_error is not None:  # Prometheus itself refused this query: 400 bad_data, 422, 503 timeout
            todo = {
                400: "fix this query's promql",
                422: "it could not be evaluated (too many samples?): simplify the query",
                503: "it ran into the query timeout: simplify the query or raise timeout_s",
            }.get(status, "check the query and the Prometheus server's log")
            return QueryFailed(
                f"Prometheus refused the query (HTTP {status}) {api_error}; {todo}", source_wide=False
            )
        return QueryFailed(
            f"{self.url} answered {self._status()}: {body!r}; not a Prometheus API error (a proxy in "
            "between?)",
            source_wide=True,
        )


def _metric(r: dict[str, Any]) -> dict[str, str]:
    m = r["metric"]
    if not isinstance(m, dict):
        raise TypeError("metric is not an object")
    return {str(k): str(v) for k, v in m.items()}


def _point(v: Any) -> Point:
    ts, value = v
    float(value)  # a string Prometheus can write ("NaN" too); anything else is garbage
    return round(float(ts) * 1000), str(value)
