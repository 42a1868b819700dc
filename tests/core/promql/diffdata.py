"""The datasets of the differential tests, and a real Prometheus serving them.

A seeded dataset (gauges, counters with resets, a gappy series, classic histogram buckets; 15 s
interval with scrape jitter) and the demo platform's own metrics, written as OpenMetrics, turned
into TSDB blocks by ``promtool tsdb create-blocks-from openmetrics`` and served by Debian's
``prometheus`` on a free loopback port; the same samples go into a Pulse Store.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.kernel.samples import Sample
from tests.promstack import PROMETHEUS, PROMTOOL, Managed, free_port

STEP_MS = 15_000
HOURS = 4
END_MS = 1_700_006_400_000  # 2023-11-15 00:00 UTC, as tests/conftest.py's T0
START_MS = END_MS - HOURS * 3_600_000
HOSTS = {"h1": "a", "h2": "a", "h3": "b", "h4": "b"}
BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
Labels = dict[str, str]


def dataset(seed: int = 42) -> list[tuple[Labels, np.ndarray, np.ndarray]]:
    """Series as (labels with __name__, ts ms, values), values rounded to 3 decimals."""
    rng = np.random.default_rng(seed)
    n = HOURS * 3_600_000 // STEP_MS
    out = []
    for host, dc in HOSTS.items():
        ts = START_MS + np.arange(n) * STEP_MS + rng.integers(-400, 400, n)
        temp = 20 + np.cumsum(rng.normal(0, 0.3, n))
        out.append(({"__name__": "demo_temperature_celsius", "host": host, "dc": dc}, ts, temp))
        mem = 2e9 + np.cumsum(rng.normal(1e5, 2e6, n))
        out.append(({"__name__": "demo_memory_bytes", "host": host, "dc": dc}, ts, mem))
        for code, scale in (("200", 40.0), ("500", 2.0)):
            inc = rng.poisson(scale, n).astype(float)
            counter = np.cumsum(inc)
            for r in rng.choice(np.arange(50, n), 2, replace=False):  # process restarts
                counter[r:] -= counter[r - 1] - rng.integers(0, 3)
            lb = {"__name__": "demo_requests_total", "host": host, "dc": dc, "code": code}
            out.append((lb, ts, counter))
        up = rng.random(n) > 0.02
        gaps = np.ones(n, bool)
        for g in rng.choice(n - 40, 3, replace=False):
            gaps[g : g + rng.integers(10, 40)] = False  # 2.5 to 10 minutes without samples
        keep = up & gaps
        flaky = np.cumsum(rng.normal(0, 1, n))[keep]
        out.append(({"__name__": "demo_flaky", "host": host, "dc": dc}, ts[keep], flaky))
        obs = rng.lognormal(-1.7, 0.9, (n, 30))
        counts = np.cumsum([(obs <= float(b)).sum(axis=1) for b in BUCKETS], axis=1)
        for b, c in zip(BUCKETS, counts, strict=True):
            lb = {"__name__": "demo_latency_seconds_bucket", "host": host, "dc": dc, "le": b}
            out.append((lb, ts, c.astype(float)))
    return [(lb, ts.astype(np.int64), np.round(v, 3)) for lb, ts, v in out]


def _om_labels(lb: Labels) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(lb.items()) if k != "__name__")
    return f"{lb['__name__']}{{{inner}}}"


def write_openmetrics(series: list[tuple[Labels, np.ndarray, np.ndarray]], path: Path) -> None:
    with path.open("w") as f:
        for lb, ts, vals in sorted(series, key=lambda s: s[0]["__name__"]):
            name = _om_labels(lb)
            f.writelines(f"{name} {float(v)!r} {t / 1000:.3f}\n" for t, v in zip(ts, vals, strict=True))
        f.write("# EOF\n")


def to_samples(series: list[tuple[Labels, np.ndarray, np.ndarray]]) -> list[Sample]:
    out = []
    for lb, ts, vals in series:
        labels = tuple(sorted((k, v) for k, v in lb.items() if k != "__name__"))
        out += [Sample(lb["__name__"], labels, int(t), float(v)) for t, v in zip(ts, vals, strict=True)]
    out.sort(key=lambda s: s.ts)
    return out


@contextmanager
def prometheus_on(series: list[tuple[Labels, np.ndarray, np.ndarray]], root: Path) -> Iterator[str]:
    """A real Prometheus serving exactly ``series``; yields its base URL."""
    om, data = root / "data.om.txt", root / "tsdb"
    write_openmetrics(series, om)
    subprocess.run(
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(om), str(data)],
        check=True,
        capture_output=True,
    )
    config = root / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 1m\n")
    port = free_port()
    argv = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data}"]
    argv += [f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y"]
    proc = Managed(argv, f"http://127.0.0.1:{port}/-/ready", root / "prometheus.log")
    proc.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


def demo_dataset(hours: int = 2) -> list[tuple[Labels, np.ndarray, np.ndarray]]:
    """The simulated platform's samples (``bench.common.demo_samples``) as series."""
    from bench.common import demo_samples

    by: dict[tuple, tuple[list[int], list[float]]] = {}
    for s in demo_samples(END_MS - hours * 3_600_000, END_MS, STEP_MS):
        entry = by.setdefault((s.metric, s.labels), ([], []))
        entry[0].append(s.ts)
        entry[1].append(s.value)
    return [
        ({"__name__": m, **dict(lb)}, np.array(ts, dtype=np.int64), np.array(vals))
        for (m, lb), (ts, vals) in by.items()
    ]
