"""One scrape of a 30 MB exposition body: wall time and peak memory (issue 15 item 18).

The body (~470,000 samples shaped like node-exporter and client-library output: 2-4 labels,
histograms, summaries, counters) is served by an in-process httpx transport in 64 KiB chunks,
so the figure is the collector's: fetch, parse, map. Each run is a fresh Python process, so its
peak RSS (``ru_maxrss``) is this scrape's alone; the table shows the median of RUNS runs, and
the peak above the process's RSS before the scrape (the body itself is held by the "server").

``python -m bench scrape``; ``python -m bench.scrape BEFORE_DIR`` runs the same scrape against
another checkout (e.g. ``git archive <commit> collectors core | tar -x -C BEFORE_DIR``) to
compare.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.common import Row
from tests.bigtarget import body

RUNS, MB, CHUNK = 3, 1024 * 1024, 65536
REPO = Path(__file__).resolve().parent.parent


def _one_scrape() -> dict[str, float]:
    """In this (fresh) process: one scrape of the body; seconds, samples, peak RSS above start."""
    from collectors.scrape import ScrapeCollector
    from core.kernel.settings.sources.scrape import ScrapeSource

    data = body()

    def chunks() -> Iterator[bytes]:
        view = memoryview(data)
        for at in range(0, len(data), CHUNK):
            yield bytes(view[at : at + CHUNK])

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/plain; version=0.0.4"}
        return httpx.Response(200, stream=_Stream(chunks()), headers=headers)

    cfg = ScrapeSource(name="bench", url="http://bench:9100/metrics", max_body_bytes=64 * MB, timeout_s=300)
    c = ScrapeCollector(cfg, client=httpx.Client(transport=httpx.MockTransport(handler)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0, cpu0 = time.perf_counter(), time.process_time()
    samples = c.collect()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "samples": len(samples),
        "peak_mb": (peak - before) / MB,
        "body_mb": len(data) / MB,
    }


class _Stream(httpx.SyncByteStream):
    """A byte stream for httpx that yields the chunks as they are asked for."""

    def __init__(self, it: Iterator[bytes]) -> None:
        self.it = it

    def __iter__(self) -> Iterator[bytes]:
        return self.it

    def close(self) -> None:
        pass


def measure(code_dir: Path, runs: int = RUNS) -> dict[str, float]:
    """Medians over ``runs`` fresh processes running the collector found in ``code_dir``."""
    env = {**os.environ, "PYTHONPATH": f"{code_dir}{os.pathsep}{REPO}"}
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", "import json, bench.scrape as b; print(json.dumps(b._one_scrape()))"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=code_dir,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def run(tmp: Path) -> list[Row]:
    m = measure(REPO)
    return [
        Row(
            f"scrape {m['body_mb']:.0f} MB body ({m['samples']:.0f} samples), median of {RUNS}",
            f"{m['seconds']:.1f} s, peak +{m['peak_mb']:.0f} MB RSS",
            "",
            "< 10 s, < 500 MB",
            "ok" if m["seconds"] < 10 and m["peak_mb"] < 500 else "SLOW",
        )
    ]


if __name__ == "__main__":
    print(
        json.dumps(
            measure(
                Path(sys.argv[1]) if len(sys.argv) > 1 else REPO,
                int(sys.argv[2]) if len(sys.argv) > 2 else RUNS,
            )
        )
    )
