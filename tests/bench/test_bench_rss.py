"""``bench rss``: the slope it judges and the readings it takes, on a real process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench import rss


def test_slope_is_mib_per_hour_by_least_squares() -> None:
    flat = [(t * 30.0, 200.0 + (0.5 if t % 2 else -0.5)) for t in range(120)]
    assert rss.slope_per_hour(flat) == pytest.approx(0.0, abs=0.05)
    growing = [(t * 60.0, 100.0 + t / 6) for t in range(60)]  # 10 MiB an hour
    assert rss.slope_per_hour(growing) == pytest.approx(10.0)


def test_readings_follow_a_process_that_grows() -> None:
    code = "import time\nx = []\nfor _ in range(30):\n    x.append(bytearray(2 << 20))\n    time.sleep(0.05)\ntime.sleep(5)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        points = rss.readings(proc.pid, 2.5 / 60, 0.5)
    finally:
        proc.kill()
        proc.wait()
    assert len(points) >= 4
    assert points[-1][1] - points[0][1] > 30  # 60 MiB touched in the first 1.5 s


def test_cache_mib_reads_the_daemons_cache_gauges() -> None:
    import numpy as np

    from core.runtime.selfmetrics import SelfMetrics, stop_server
    from core.storage.tsdb import chunk_cache, head_cache
    from core.storage.tsdb.chunks import encode

    blob = encode(np.arange(0, 150_000, 15, dtype=np.int64), np.arange(10_000, dtype=np.float64))
    chunk_cache.decode_chunks([blob])  # one chunk in the process' cache: ~160 KB decoded
    server, thread, port = SelfMetrics().serve("127.0.0.1", 0)
    try:
        assert chunk_cache.cached_bytes() > 150_000
        expected = (chunk_cache.cached_bytes() + head_cache.cached_bytes()) / 2**20
        assert rss.cache_mib(port) == pytest.approx(expected)
    finally:
        stop_server(server, thread)
