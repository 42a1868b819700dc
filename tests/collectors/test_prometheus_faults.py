"""A prometheus source whose target misbehaves: small local HTTP servers started by the tests.

Refused, slow, HTML, garbage JSON, a body cut off part of the way, 401 without credentials (and
the basic / bearer headers actually sent), and a failing source next to working collectors in
the real scheduler.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from collectors.host import HostCollector
from collectors.prometheus import PrometheusCollector
from core.kernel.errors import CollectorError
from core.kernel.settings import load_settings
from core.kernel.settings.sources.prometheus import PrometheusSource, PromQuery
from core.runtime.scheduler import PulseScheduler
from core.runtime.selfmetrics import SelfMetrics
from core.runtime.spool import BufferedWriter
from core.storage.tsdb.store import open_store
from tests.collectors.conftest import Scheduled, TickClock
from tests.promstack import free_port

QUERIES = [PromQuery(metric=f"m{i}", promql=f"q{i}") for i in range(4)]
OK_BODY = json.dumps(
    {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {"job": "x"}, "value": [1.5, "7"]}]},
    }
).encode()
HTML = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in - Corp SSO</title></head>"
    + b"<body>"
    + b"x" * 500
    + b"</body></html>"
)
Handler = Callable[[BaseHTTPRequestHandler, int], None]  # (request, its number from 1)


def reply(req: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json") -> None:
    req.send_response(status)
    req.send_header("Content-Type", ctype)
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
        req.wfile.write(body)


def late(req: BaseHTTPRequestHandler, wait: Callable[[], object]) -> None:
    wait()
    reply(req, 200, OK_BODY)


class FakeServer:
    """http.server in a thread; ``handle`` answers, every request's path and headers are kept."""

    def __init__(self, handle: Handler) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.seen.append((self.path, dict(self.headers)))
                handle(self, len(outer.seen))

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], FakeServer]]:
    servers: list[FakeServer] = []

    def start(handle: Handler) -> FakeServer:
        servers.append(FakeServer(handle))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def collector(url: str, clock: Callable[[], float] = time.time, **kw: object) -> PrometheusCollector:
    base: dict[str, object] = {
        "name": "prom",
        "url": url,
        "interval_s": 5,
        "timeout_s": 1,
        "backfill_max_s": 0,
        "queries": [q.model_dump() for q in QUERIES],
    }
    return PrometheusCollector(PrometheusSource.model_validate(base | kw), clock=clock)


def fails(c: PrometheusCollector, scheduled: Scheduled) -> str:
    """One run by the real scheduler that fails with a CollectorError, booked in its own words."""
    assert scheduled(c) == [] and isinstance(scheduled.error, CollectorError)
    assert not c.health.ok and c.health.last_error == str(scheduled.error)
    return str(scheduled.error)


def test_connection_refused_is_one_quick_clear_error(scheduled: Scheduled) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    c = collector(url)
    t0 = time.monotonic()
    msg = fails(c, scheduled)
    assert time.monotonic() - t0 < 1  # no retries inside the tick: the scheduler backs off
    assert msg.startswith(f"prometheus source 'prom': cannot connect to {url} (")
    assert "Connection refused" in msg and "check the url and that Prometheus is running" in msg
    assert set(c.health.extra["partial_errors"]) == {"m0", "m1", "m2", "m3"}  # m1.. not even tried
    assert c.health.extra["partial_errors"]["m3"].startswith("not queried: cannot connect")


def test_a_slow_server_times_out_once_for_the_whole_tick(
    serve: Callable[[Handler], FakeServer], scheduled: Scheduled
) -> None:
    srv = serve(lambda req, n: late(req, lambda: time.sleep(3)))
    c = collector(srv.url, timeout_s=0.5)
    t0 = time.monotonic()
    msg = fails(c, scheduled)
    assert time.monotonic() - t0 < 1.5
    assert msg == (
        f"prometheus source 'prom': {srv.url} did not answer within timeout_s = 0.5s; "
        "check the server's load and the network, or raise timeout_s"
    )
    assert len(srv.seen) == 1  # the other queries were not sent to a server that does not answer
    assert srv.seen[0][0].startswith("/api/v1/query?query=q0&timeout=0.400&time=")


@pytest.mark.parametrize(
    ("status", "body", "ctype", "expected"),
    [
        (
            200,
            HTML,
            "text/html",
            "answered HTTP 200 OK (text/html) with a body that is not JSON: '<!DOCTYPE html> <html>",
        ),
        (502, HTML, "text/html", "answered HTTP 502 Bad Gateway (text/html): '<!DOCTYPE html>"),
        (
            200,
            b"{ garbage",
            "application/json",
            "answered HTTP 200 OK (application/json) with a body that is not JSON: '{ garbage'",
        ),
        (
            200,
            b"[1, 2, 3]",
            "application/json",
            "with JSON that is not a Prometheus API response: '[1, 2, 3]'",
        ),
        (
            200,
            b'{"status": "success"}',
            "application/json",
            "with JSON that is not a Prometheus API response",
        ),
        (
            200,
            b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":"x"}]}}',
            "application/json",
            "with JSON that is not a Prometheus query result",
        ),
    ],
    ids=["html-login-page", "proxy-502", "not-json", "a-list", "no-data", "bad-point"],
)
def test_html_or_garbage_is_a_clear_error_quoting_the_body(
    serve: Callable[[Handler], FakeServer],
    status: int,
    body: bytes,
    ctype: str,
    expected: str,
    scheduled: Scheduled,
) -> None:
    srv = serve(lambda req, n: reply(req, status, body, ctype))
    msg = fails(collector(srv.url), scheduled)
    assert f"prometheus source 'prom': {srv.url} " in msg and expected in msg, msg
    if body is HTML:
        quoted = msg.split(": '", 1)[1].split("'", 1)[0]
        assert len(quoted) == 200  # the first 200 characters of the body, whitespace folded
    assert len(srv.seen) == 1


def test_a_body_cut_off_part_of_the_way_degrades_and_keeps_what_came(
    serve: Callable[[Handler], FakeServer],
) -> None:
    def handle(req: BaseHTTPRequestHandler, n: int) -> None:
        if n <= 2:
            return reply(req, 200, OK_BODY)
        req.send_response(200)  # promises 5000 bytes, sends 40 and hangs up
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", "5000")
        req.end_headers()
        req.wfile.write(OK_BODY[:40])
        req.close_connection = True

    srv = serve(handle)
    c = collector(srv.url)
    samples = c.collect()
    assert [s.metric for s in samples] == ["m0", "m1"] and samples[0].labels == (("job", "x"),)
    assert c.health.ok and c.health.state == "degraded"
    errors = c.health.extra["partial_errors"]
    assert list(errors) == ["m2", "m3"]
    assert errors["m2"].startswith(f"the answer of {srv.url} broke off (ChunkedEncodingError: ")
    assert errors["m3"] == f"not queried: {errors['m2']}"


def test_a_range_window_prometheus_refuses_is_halved_until_it_fits(
    serve: Callable[[Handler], FakeServer],
    scheduled: Scheduled,
) -> None:
    too_many = {
        "status": "error",
        "errorType": "execution",
        "error": "query processing would load too many samples into memory in query execution",
    }

    def handle(req: BaseHTTPRequestHandler, n: int) -> None:  # a server with a low --query.max-samples
        qs = urllib.parse.parse_qs(urllib.parse.urlparse(req.path).query)
        start, end, step = (float(qs[k][0]) for k in ("start", "end", "step"))
        points = round((end - start) / step) + 1
        if points > 3000:
            return reply(req, 422, json.dumps(too_many).encode())
        values = [[start + k * step, "1"] for k in range(points)]
        result = [{"metric": {"job": "x"}, "values": values}]
        reply(
            req,
            200,
            json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}).encode(),
        )

    srv = serve(handle)
    clock = TickClock()
    c = collector(srv.url, clock, interval_s=1, backfill_max_s=10_999, queries=[QUERIES[0].model_dump()])
    for _ in range(2):  # 11,000 points, then 5,500: refused
        msg = fails(c, scheduled)
        assert msg.endswith(
            "m0: Prometheus refused the query (HTTP 422) execution: query processing would load too many "
            "samples into memory in query execution; it could not be evaluated (too many samples?): "
            "simplify the query"
        )
    samples = scheduled(c)  # 2,750 points a window: four windows
    assert len(srv.seen) == 2 + 4 and len(samples) == 11_000 and c.health.ok
    ts = [s.ts for s in samples]
    assert ts == list(range(ts[0], ts[-1] + 1, 1000)) and ts[-1] == clock.now_ms


def auth_server(serve: Callable[[Handler], FakeServer], expected: str) -> FakeServer:
    def handle(req: BaseHTTPRequestHandler, n: int) -> None:
        if req.headers.get("Authorization") == expected:
            return reply(req, 200, OK_BODY)
        req.send_response(401)
        req.send_header("WWW-Authenticate", 'Basic realm="prometheus"')
        req.send_header("Content-Type", "text/plain")
        req.end_headers()
        req.wfile.write(b"Unauthorized\n")

    return serve(handle)


def test_401_without_credentials_says_which_settings_to_set(
    serve: Callable[[Handler], FakeServer], scheduled: Scheduled
) -> None:
    srv = auth_server(serve, "Bearer s3cret")
    msg = fails(collector(srv.url), scheduled)
    assert msg == (
        f"prometheus source 'prom': {srv.url} answered HTTP 401 Unauthorized (text/plain): 'Unauthorized'; "
        "the server wants credentials: set basic_auth_user/basic_auth_password or bearer_token"
    )
    assert len(srv.seen) == 1 and "Authorization" not in srv.seen[0][1]

    msg = fails(collector(srv.url, bearer_token="wrong"), scheduled)
    assert "HTTP 401 Unauthorized" in msg and "the configured credentials were refused" in msg
    assert "wrong" not in msg  # secrets stay out of messages


def test_bearer_token_and_basic_auth_are_sent(serve: Callable[[Handler], FakeServer]) -> None:
    bearer = auth_server(serve, "Bearer s3cret")
    c = collector(bearer.url, bearer_token="s3cret")
    assert len(c.collect()) == 4 and c.health.state == "up"
    assert {h.get("Authorization") for _, h in bearer.seen} == {"Bearer s3cret"}

    token = base64.b64encode(b"pulse:pa ss").decode()
    basic = auth_server(serve, f"Basic {token}")
    c = collector(basic.url, basic_auth_user="pulse", basic_auth_password="pa ss")
    assert len(c.collect()) == 4
    assert {h.get("Authorization") for _, h in basic.seen} == {f"Basic {token}"}


def test_a_failing_source_does_not_affect_the_other_collectors(
    serve: Callable[[Handler], FakeServer], tmp_path: Path
) -> None:
    """The real scheduler: a Prometheus that hangs and one that is gone, next to the host collector."""
    hang = threading.Event()
    slow = serve(lambda req, n: late(req, lambda: hang.wait(10)))
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path)
    store = open_store(settings)
    writer = BufferedWriter(store, tmp_path / "spool", max_buffer=10_000, retry_interval_s=0)
    dead = collector(f"http://127.0.0.1:{free_port()}", name="gone", interval_s=1)
    stuck = collector(slow.url, name="stuck", interval_s=1, timeout_s=0.5)
    sched = PulseScheduler(settings, store, [HostCollector(1), dead, stuck], writer, SelfMetrics())
    try:
        sched.start()
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and store.select("host_up", 0, int(time.time() * 1000) + 1000, step_ms=1, resolution="raw").height
            < 3
        ):
            writer.flush()
            time.sleep(0.2)
        health = sched.health()
    finally:
        hang.set()
        sched.shutdown()
        store.close()
    assert health["host"].ok
    assert not health["gone"].ok and "cannot connect to" in (health["gone"].last_error or "")
    assert not health["stuck"].ok and "did not answer within timeout_s = 0.5s" in (
        health["stuck"].last_error or ""
    )
