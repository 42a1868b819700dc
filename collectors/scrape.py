"""The ``scrape`` source: one Prometheus text / OpenMetrics endpoint, read directly.

One GET per collection with httpx (``Accept`` prefers OpenMetrics, as Prometheus does), the body
streamed raw, decompressed here with a hard size limit and parsed line by line as it arrives
(:mod:`collectors.exposition`), so neither the body nor a gzip bomb is ever held in memory. Under
the scheduler the samples kept are handed over in batches as they are parsed (``sink``, see
:class:`collectors.base.Streaming`), staged and kept only if the whole body converts; alone
(``pulse sources test``) collect() returns them all. The source's Prometheus limits (``sample_limit``, ``label_limit``,
``label_name_length_limit``, ``label_value_length_limit``) fail the scrape and are counted.

Every collection also yields health samples for the target, as Prometheus's ``up`` and
``scrape_*`` series: ``pulse_scrape_up``, ``pulse_scrape_duration_seconds``,
``pulse_scrape_samples_scraped``, ``pulse_scrape_body_bytes`` and ``pulse_scrape_samples_dropped``
(by ``reason``), ``pulse_scrape_type_conflicts``. When the scrape fails, collect() raises :class:`ScrapeError` whose ``samples``
hold those health samples (``up`` = 0), for the scheduler to write; the message names the URL
and the reason (refused, timed out, HTTP status, not an exposition, too large, cut off, bad line).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urlsplit

import httpx

from collectors import exposition
from collectors.base import SourceCollector
from core.kernel.errors import CollectFailed, CollectorError
from core.kernel.samples import Labels, Sample, labels_of
from core.kernel.settings.sources.scrape import ScrapeSource

ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
USER_AGENT = "mcp-pulse-scrape/0.1"


class ScrapeError(CollectFailed):
    """A failed scrape; ``samples`` are the target's health samples (``pulse_scrape_up`` = 0)."""


class _TooLarge(Exception):
    pass


class _Body:
    """Yields the raw body's chunks decompressed (gzip/deflate), refusing more than ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit, self.size = limit, 0
        enc = encoding.strip().lower()
        if enc in ("", "identity"):
            self._z: zlib._Decompress | None = None
        elif enc in ("gzip", "x-gzip", "deflate"):
            self._z = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header, detected
        else:
            raise CollectorError(f"unsupported Content-Encoding {enc!r} (Pulse asks for gzip)")

    def chunks(self, raw_chunks: Iterable[bytes], deadline: float, timeout_s: float) -> Iterator[bytes]:
        """The decompressed chunks as they arrive; the read deadline is checked after each."""
        for raw in raw_chunks:
            yield from self._feed(raw)
            if time.monotonic() > deadline:
                raise CollectorError(
                    f"body not complete within {timeout_s:g}s (timeout_s): "
                    f"{self.size} bytes received, the target is too slow"
                )
        if self._z is not None:
            yield self._add(self._z.flush())

    def _feed(self, raw: bytes) -> Iterator[bytes]:
        if self._z is None:
            yield self._add(raw)
            return
        while raw:
            yield self._add(self._z.decompress(raw, self.limit - self.size + 1))
            raw = self._z.unconsumed_tail

    def _add(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.limit:
            raise _TooLarge
        return data


def _http_reason(exc: httpx.HTTPError, timeout_s: float) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connection not established within {timeout_s:g}s (timeout_s)"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout_s:g}s (timeout_s): the target is down or very slow"
    if isinstance(exc, httpx.ConnectError):
        hint = "; set verify_tls = false for a self-signed certificate" if "CERTIFICATE" in str(exc) else ""
        return f"cannot connect: {exc}{hint}"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return f"the connection broke off: {exc}"
    if isinstance(exc, httpx.DecodingError):
        return f"the body could not be decompressed: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _status_error(resp: httpx.Response) -> str:
    """``HTTP 503 Service Unavailable: 'the start of the body'`` (first bytes only, if plain)."""
    first = b""
    if resp.headers.get("content-encoding", "identity") == "identity":
        for raw in resp.iter_raw():
            first = raw[:200]
            break
    text = first.decode("utf-8", "replace").strip()
    return f"HTTP {resp.status_code} {resp.reason_phrase}" + (f": {text[:200]!r}" if text else "")


class ScrapeCollector(SourceCollector[ScrapeSource]):
    """Scrapes one ``/metrics`` endpoint per collection (see the module docstring)."""

    def __init__(
        self,
        cfg: ScrapeSource,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(cfg)
        self.clock, self._client = clock, client
        self.sink: exposition.Sink | None = None  # set by the scheduler (collectors.base.Streaming)
        parts = urlsplit(cfg.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.target: dict[str, str] = {
            "instance": f"{parts.hostname}:{port}",
            **cfg.labels,
            "source": cfg.name,
        }
        self._health_labels: Labels = labels_of(**self.target)
        self._read = 0
        self.limits = exposition.Limits(
            cfg.sample_limit, cfg.label_limit, cfg.label_name_length_limit, cfg.label_value_length_limit
        )

    def client(self) -> httpx.Client:
        """The injected client, or one made on first use (kept: connections are reused)."""
        if self._client is None:
            self._client = httpx.Client(verify=self.cfg.verify_tls, follow_redirects=True)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _headers(self) -> dict[str, str]:
        headers = {
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip",
            "User-Agent": USER_AGENT,
            "X-Prometheus-Scrape-Timeout-Seconds": f"{self.cfg.timeout_s:g}",
        }
        if self.cfg.bearer_token is not None:
            headers["Authorization"] = f"Bearer {self.cfg.bearer_token.get_secret_value()}"
        return headers

    def scrape(self, t0: float, scrape_ms: int) -> exposition.Converted:
        """GET the target and parse the body as it streams in; CollectorError with the reason."""
        cfg = self.cfg
        limit = cfg.max_body_bytes
        too_large = f"body larger than {limit} bytes (max_body_bytes)"
        body: _Body | None = None
        try:
            with self.client().stream(
                "GET", cfg.url, headers=self._headers(), timeout=httpx.Timeout(cfg.timeout_s)
            ) as resp:
                if resp.status_code != 200:
                    raise CollectorError(_status_error(resp))
                declared = resp.headers.get("content-length", "")
                plain = resp.headers.get("content-encoding", "identity") == "identity"
                if plain and declared.isdigit() and int(declared) > limit:
                    raise CollectorError(f"{too_large}; Content-Length is {declared}")
                body = _Body(resp.headers.get("content-encoding", ""), limit)
                return exposition.convert_stream(
                    body.chunks(resp.iter_raw(), t0 + cfg.timeout_s, cfg.timeout_s),
                    resp.headers.get("content-type", ""),
                    scrape_ms,
                    self.target,
                    cfg.metric_prefix,
                    cfg.honor_timestamps,
                    deadline=t0 + self.deadline_s - 1,
                    limits=self.limits,
                    sink=self.sink,
                )
        except _TooLarge:
            raise CollectorError(f"{too_large}: stopped reading there") from None
        except zlib.error as exc:
            raise CollectorError(f"the gzip body could not be decompressed: {exc}") from exc
        except httpx.HTTPError as exc:
            raise CollectorError(_http_reason(exc, cfg.timeout_s)) from exc
        except httpx.InvalidURL as exc:
            raise CollectorError(f"invalid URL: {exc}") from exc
        finally:
            self._read = min(body.size, limit) if body is not None else 0

    def collect(self) -> list[Sample]:
        cfg = self.cfg
        t0, scrape_ms = time.monotonic(), int(self.clock() * 1000)
        self._read = 0
        try:
            result = self.scrape(t0, scrape_ms)
        except Exception as exc:  # a failure of any kind is recorded, with the URL: never another type
            reason = str(exc) if isinstance(exc, CollectorError) else f"{type(exc).__name__}: {exc}"
            partial = exc.result if isinstance(exc, exposition.LimitExceeded) else None
            health = self._health(scrape_ms, t0, up=False, result=partial)
            self.health.extra.update(url=cfg.url, body_bytes=self._read)
            raise ScrapeError(f"scrape of {cfg.url} failed: {reason}", health) from exc
        self.health.extra.update(
            url=cfg.url,
            format=result.fmt,
            body_bytes=self._read,
            samples=result.kept,
            dropped=dict(result.dropped),
            type_conflicts=result.type_conflicts,
        )
        return result.samples + self._health(scrape_ms, t0, up=True, result=result)

    def _health(self, ts: int, t0: float, up: bool, result: exposition.Converted | None) -> list[Sample]:
        lab = self._health_labels
        dropped = result.dropped if result is not None else {}
        out = [
            Sample("pulse_scrape_up", lab, ts, 1.0 if up else 0.0),
            Sample("pulse_scrape_duration_seconds", lab, ts, round(time.monotonic() - t0, 6)),
            Sample("pulse_scrape_samples_scraped", lab, ts, float(result.scraped if result else 0)),
            Sample("pulse_scrape_body_bytes", lab, ts, float(self._read)),
            Sample("pulse_scrape_type_conflicts", lab, ts, float(result.type_conflicts if result else 0)),
        ]
        for reason in exposition.DROP_REASONS:
            labels = tuple(sorted((*lab, ("reason", reason))))
            out.append(Sample("pulse_scrape_samples_dropped", labels, ts, float(dropped.get(reason, 0))))
        return out
