"""One huge, slow scrape target beside three small ones, and a ``pulse collect`` daemon scraping all
four: the pieces of the big-target test (issue 15 item 18) and of ``python -m bench bigtarget``.

The big target serves a ~30 MB exposition body (node-exporter and client-library shapes) in
64 KiB chunks spread over ``seconds``; each small target records when its requests arrive, so
the test reads the small targets' schedule from the servers' side, not from the daemon's word.
The daemon's resident memory is sampled from /proc while it runs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MB = 1024 * 1024
CHUNK = 65536


def body(size: int = 30 * MB) -> bytes:
    """A realistic exposition body of about ``size`` bytes (2-4 labels, histograms, summaries)."""
    out: list[str] = []
    n, i = 0, 0
    while n < size:
        block = [
            "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.",
            "# TYPE node_cpu_seconds_total counter",
            *(
                f'node_cpu_seconds_total{{cpu="{i}",mode="{m}"}} {i * 17.25 + k}'
                for k, m in enumerate(("idle", "user", "system", "iowait"))
            ),
            "# TYPE http_request_duration_seconds histogram",
            *(
                f'http_request_duration_seconds_bucket{{handler="/api/v{i}",method="GET",le="{le}"}} {k * 3}'
                for k, le in enumerate(("0.005", "0.01", "0.1", "1", "+Inf"))
            ),
            f'http_request_duration_seconds_sum{{handler="/api/v{i}",method="GET"}} {i * 0.5}',
            f'http_request_duration_seconds_count{{handler="/api/v{i}",method="GET"}} 12',
            "# TYPE rpc_latency_seconds summary",
            *(
                f'rpc_latency_seconds{{service="svc{i}",quantile="{q}"}} 0.{k}5'
                for k, q in enumerate(("0.5", "0.9", "0.99"))
            ),
            f'container_memory_working_set_bytes{{container="c{i}",pod="pod-{i}",namespace="ns{i % 50}",node="n{i % 30}"}} {i * 4096}',
        ]
        text = "\n".join(block) + "\n"
        out.append(text)
        n += len(text)
        i += 1
    return "".join(out).encode()


def series_in(data: bytes) -> int:
    """How many samples the body's ``container_memory_working_set_bytes`` family holds."""
    return data.count(b"\ncontainer_memory_working_set_bytes{")


class _Server:
    """A loopback HTTP server on a free port, served from a thread; ``stop()`` ends it."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/metrics"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmallTarget(_Server):
    """A few gauges; ``arrivals`` holds the monotonic time of every request."""

    def __init__(self, name: str) -> None:
        self.arrivals: list[float] = []
        text = f'small_target_up{{target="{name}"}} 1\nsmall_target_requests_total {{}} 0\n'
        data = text.replace(" {}", "").encode()
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                arrivals.append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(Handler)

    def gaps(self, since: float = 0.0) -> list[float]:
        """Seconds between consecutive requests that arrived after ``since`` (monotonic)."""
        times = [t for t in self.arrivals if t >= since]
        return [b - a for a, b in zip(times, times[1:], strict=False)]


class BigTarget(_Server):
    """``data`` served in 64 KiB chunks over about ``seconds``; ``served`` counts whole bodies sent,
    ``sending`` is the monotonic (start, end) of each response."""

    def __init__(self, data: bytes, seconds: float) -> None:
        self.data, self.seconds = data, seconds
        self.served = 0
        self.sending: list[tuple[float, float]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                t0 = time.monotonic()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(outer.data)))
                self.end_headers()
                view, total = memoryview(outer.data), len(outer.data)
                pause = outer.seconds / max(1, total // CHUNK)
                try:
                    for at in range(0, total, CHUNK):
                        self.wfile.write(view[at : at + CHUNK])
                        time.sleep(pause)
                except OSError:  # the scraper gave up
                    return
                outer.served += 1
                outer.sending.append((t0, time.monotonic()))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(Handler)


def rss_kib(pid: int) -> int:
    """The process's resident memory now (VmRSS, KiB); 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class RssWatch:
    """Samples a process's RSS every ``every_s`` from a thread until ``stop()``; ``peak_kib``."""

    pid: int
    every_s: float = 0.1
    samples: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            kib = rss_kib(self.pid)
            if kib:
                self.samples.append(kib)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    @property
    def peak_kib(self) -> int:
        return max(self.samples, default=0)


def write_config(
    folder: Path, big: str, smalls: list[str], small_interval_s: float, big_timeout_s: float
) -> Path:
    """The TOML of a daemon with no built-in collectors, the big source and the small ones."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = [
        f'[[sources]]\nkind = "scrape"\nname = "big"\nurl = "{big}"\ninterval_s = 60\n'
        f"timeout_s = {big_timeout_s:g}\nmax_body_bytes = {64 * MB}\n"
    ]
    sources += [
        f'[[sources]]\nkind = "scrape"\nname = "small{i}"\nurl = "{url}"\ninterval_s = {small_interval_s:g}\n'
        for i, url in enumerate(smalls)
    ]
    path = folder / "pulse.toml"
    head = f'collectors = []\ndata_dir = "{folder / "data"}"\n\n[ingest]\nmax_series_per_metric = 1000000\n\n'
    path.write_text(head + "\n".join(sources))
    return path
