"""Scrape faults against a small local HTTP server: each gives a clear error naming the URL,
health samples with ``pulse_scrape_up`` 0, and nothing but ScrapeError leaves collect()."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from collectors.scrape import ScrapeCollector, ScrapeError
from core.kernel.settings.sources.scrape import ScrapeSource
from tests.promstack import free_port

GOOD = b'# TYPE g gauge\ng{a="1"} 1\n'
MB = 1024 * 1024
BIG_LINE = b"big_metric_with_a_long_name_for_padding 1\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def send(
        self, body: bytes, ctype: str = "text/plain; version=0.0.4", status: int = 200, **hdr: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", hdr.pop("length", str(len(body))))
        for k, v in hdr.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        self.wfile.write(body)

    def stream(self, total: int, pause: float = 0.0, chunk: bytes = BIG_LINE * 1000) -> None:
        """A close-delimited body of ``total`` bytes (no Content-Length)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        try:
            while sent < total:
                self.wfile.write(chunk)
                sent += len(chunk)
                time.sleep(pause)
        except OSError:
            pass  # the client stopped reading, as it should
        self.close_connection = True

    def do_GET(self) -> None:  # one branch per fault
        path = self.path
        if path == "/ok":
            self.send(GOOD)
        elif path == "/auth":
            ok = self.headers.get("Authorization") == "Bearer s3cret"
            accept = self.headers.get("Accept", "")
            self.send(
                GOOD if ok and accept.startswith("application/openmetrics-text") else b"no",
                status=200 if ok else 401,
            )
        elif path == "/html":
            self.send(b"<!DOCTYPE html><html><body>login</body></html>", "text/html; charset=utf-8")
        elif path == "/garbage":
            self.send(bytes(range(256)) * 8)
        elif path == "/badline":
            self.send(b"# TYPE g gauge\ng 1\ng{a=b} 2\n")
        elif path == "/500":
            self.send(b"database is down", status=500)
        elif path == "/slow":
            time.sleep(2)
            self.send(GOOD)
        elif path == "/trickle":
            self.stream(10 * MB, pause=0.2, chunk=b"g 1\n")
        elif path == "/big":
            self.stream(50 * MB)
        elif path == "/big-declared":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(50 * MB))
            self.end_headers()
            self.close_connection = True
        elif path == "/gzip-bomb":
            self.send(BOMB, Content_Encoding="gzip")
        elif path == "/gzip-ok":
            self.send(gzip.compress(GOOD), Content_Encoding="gzip")
        elif path == "/cut":
            self.send(GOOD, length="5000")  # promises 5000 bytes, sends 26 and closes
            self.close_connection = True
        elif path == "/redirect":
            self.send(b"", status=302, Location="/ok")
        else:
            self.send(b"not found", status=404)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up on a fault path is expected


BOMB = gzip.compress(BIG_LINE * (50 * MB // len(BIG_LINE)), compresslevel=9)


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def scraper(url: str, **kw: object) -> ScrapeCollector:
    return ScrapeCollector(ScrapeSource.model_validate({"name": "t", "url": url, "timeout_s": 1, **kw}))


def failure(c: ScrapeCollector) -> ScrapeError:
    t0 = time.monotonic()
    with pytest.raises(ScrapeError) as info:
        c.collect()
    assert time.monotonic() - t0 < c.deadline_s
    err = info.value
    assert str(err).startswith(f"scrape of {c.cfg.url} failed: ")
    health = {s.metric: s for s in err.samples if s.metric != "pulse_scrape_samples_dropped"}
    assert health["pulse_scrape_up"].value == 0
    assert dict(health["pulse_scrape_up"].labels)["source"] == "t"
    assert set(health) == {
        "pulse_scrape_up",
        "pulse_scrape_duration_seconds",
        "pulse_scrape_samples_scraped",
        "pulse_scrape_body_bytes",
        "pulse_scrape_type_conflicts",
    }
    return err


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/html", "not an exposition format (content-type text/html, starts with '<!DOCTYPE')"),
        ("/garbage", "text parse error at line 1 ('\\x00\\x01\\x02"),
        ("/badline", "text parse error at line 3 ('g{a=b} 2')"),
        ("/500", "HTTP 500 Internal Server Error: 'database is down'"),
        ("/nope", "HTTP 404 Not Found"),
        ("/slow", "no answer within 1s (timeout_s): the target is down or very slow"),
        ("/trickle", "body not complete within 1s (timeout_s)"),
        ("/cut", "the connection broke off"),
        ("/big-declared", f"body larger than {10 * MB} bytes (max_body_bytes); Content-Length is {50 * MB}"),
    ],
)
def test_a_failing_target_gives_a_clear_recorded_error(target: str, path: str, message: str) -> None:
    err = failure(scraper(target + path))
    assert message in str(err)


def test_a_dead_port_is_refused_quickly() -> None:
    err = failure(scraper(f"http://127.0.0.1:{free_port()}/metrics"))
    assert "cannot connect" in str(err) and "refused" in str(err).lower()


@pytest.mark.parametrize("path", ["/big", "/gzip-bomb"])
def test_a_50_mb_body_stops_at_the_limit(target: str, path: str) -> None:
    c = scraper(target + path, timeout_s=10)
    err = failure(c)
    assert f"body larger than {10 * MB} bytes (max_body_bytes): stopped reading there" in str(err)
    body_bytes = next(s.value for s in err.samples if s.metric == "pulse_scrape_body_bytes")
    assert body_bytes == 10 * MB


def test_gzip_redirects_and_bearer_token_work(target: str) -> None:
    for path in ("/gzip-ok", "/redirect"):
        assert [s.metric for s in scraper(target + path).collect()][0] == "g"
    with_token = scraper(target + "/auth", bearer_token=SecretStr("s3cret"))
    assert with_token.collect()[0].metric == "g"
    assert "HTTP 401" in str(failure(scraper(target + "/auth")))


def test_a_failure_streak_then_recovery_keeps_reporting(target: str) -> None:
    c = scraper(target + "/ok")
    good = c.collect()
    up = [s for s in good if s.metric == "pulse_scrape_up"]
    assert [s.value for s in up] == [1.0]
    assert c.health.extra["samples"] == 1 and c.health.extra["format"] == "text"
    c.cfg = c.cfg.model_copy(update={"url": target + "/html"})
    failure(c)
    assert c.health.extra["url"].endswith("/html")
