"""The seeded dataset of ``python -m bench compare``: realistic series at a 15 s interval.

Per host (10 series): 4 noisy CPU gauges (``bench_cpu_ratio``, 3 decimals), 2 request counters
with Poisson increments and a process restart every few days (``bench_requests_total``, codes 200
and 500), and a classic histogram of 4 buckets (``bench_latency_seconds_bucket``). Scrape times
jitter by up to 20 ms, as a real scraper's do. Generated one slice of time at a time (a day by
default; ``python -m bench compare --scaling`` takes 15 minutes, so 10,000 series never make one
giant frame): as Pulse ``Sample`` tuples for the Store (in batches of bounded size) and as
OpenMetrics text for ``promtool tsdb create-blocks-from openmetrics`` (one file per day, or one
file written slice by slice), identical values for the same slicing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.kernel.samples import Sample

STEP_MS = 15_000
DAY_MS = 86_400_000
TEAMS = ("payments", "search", "core", "web")
BUCKETS = ("0.1", "0.5", "1", "+Inf")
SERIES_PER_HOST = 10


@dataclass
class Dataset:
    """``hosts`` x 10 series over ``days`` ending at ``end_ms``; ``day(i)`` is deterministic."""

    hosts: int
    days: float
    end_ms: int
    seed: int = 7
    _state: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def start_ms(self) -> int:
        return self.end_ms - int(self.days * DAY_MS)

    @property
    def n_series(self) -> int:
        return self.hosts * SERIES_PER_HOST

    @property
    def n_samples(self) -> int:
        return self.n_series * (int(self.days * DAY_MS) // STEP_MS)

    def series_labels(self) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
        out: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        for h in range(self.hosts):
            host, team = f"h{h:03d}", TEAMS[h % len(TEAMS)]
            out += [("bench_cpu_ratio", (("cpu", str(c)), ("host", host), ("team", team))) for c in range(4)]
            out += [
                ("bench_requests_total", (("code", code), ("host", host), ("team", team)))
                for code in ("200", "500")
            ]
            out += [
                ("bench_latency_seconds_bucket", (("host", host), ("le", le), ("team", team)))
                for le in BUCKETS
            ]
        return out

    def chunks(self, chunk_ms: int = DAY_MS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ts [series x n] int64, values [series x n] float64) per chunk of time, in order."""
        rng = np.random.default_rng(self.seed)
        h = self.hosts
        cpu = rng.uniform(0.1, 0.6, 4 * h)
        counters = np.zeros(2 * h)
        hist = np.zeros(4 * h)
        rates = np.tile([40.0, 1.5], h)
        for t0 in range(self.start_ms, self.end_ms, chunk_ms):
            n = (min(t0 + chunk_ms, self.end_ms) - t0) // STEP_MS
            base = t0 + np.arange(n, dtype=np.int64) * STEP_MS
            ts = base[None, :] + rng.integers(-20, 21, (self.n_series, n))
            walk = cpu[:, None] + np.cumsum(rng.normal(0, 0.01, (4 * h, n)), axis=1)
            walk = np.clip(np.abs(walk), 0, 1)
            cpu = walk[:, -1]
            inc = rng.poisson(rates[:, None], (2 * h, n)).astype(float)
            reqs = counters[:, None] + np.cumsum(inc, axis=1)
            for s in np.flatnonzero(rng.random(2 * h) < chunk_ms / (4 * DAY_MS)):  # a restart per ~4 days
                r = int(rng.integers(1, n))
                reqs[s, r:] -= reqs[s, r - 1]
            counters = reqs[:, -1]
            obs = rng.lognormal(-1.2, 0.8, (h, n, 8))  # 8 observations per host and scrape
            per_bucket = [(obs <= float(b)).sum(axis=2) for b in BUCKETS]
            lat = np.stack(per_bucket, axis=1).reshape(4 * h, n).astype(float)
            lat = hist[:, None] + np.cumsum(lat, axis=1)
            hist = lat[:, -1]
            vals = np.empty((self.n_series, n))
            for i in range(h):
                o = i * SERIES_PER_HOST
                vals[o : o + 4] = np.round(walk[4 * i : 4 * i + 4], 3)
                vals[o + 4 : o + 6] = reqs[2 * i : 2 * i + 2]
                vals[o + 6 : o + 10] = lat[4 * i : 4 * i + 4]
            yield ts, vals

    def sample_batches(self, chunk_ms: int = DAY_MS, batch: int | None = None) -> Iterator[list[Sample]]:
        """Each chunk as Pulse samples, in time order (as a scraper delivers them); with ``batch``,
        in lists of at most that many samples (the Python objects of a whole chunk of 10,000
        series would outweigh the store's own memory)."""
        keys = self.series_labels()
        for ts, vals in self.chunks(chunk_ms):
            order = np.argsort(ts, axis=None, kind="stable")
            rows, cols = np.unravel_index(order, ts.shape)
            step = batch or order.size
            for a in range(0, order.size, step):
                r_part, c_part = rows[a : a + step], cols[a : a + step]
                t_list, v_list = ts[r_part, c_part].tolist(), vals[r_part, c_part].tolist()
                yield [
                    Sample(keys[r][0], keys[r][1], t, v)
                    for r, t, v in zip(r_part.tolist(), t_list, v_list, strict=True)
                ]

    def write_openmetrics(self, folder: Path) -> list[Path]:
        """The same samples as OpenMetrics files, one per day (promtool re-reads its whole input
        for every 2 h block it writes, so one 30-day file would be read 360 times)."""
        keys = self.series_labels()
        names = [self._om_name(m, lb) for m, lb in keys]
        paths = []
        for day, (ts, vals) in enumerate(self.chunks()):
            path = folder / f"day{day:03d}.om.txt"
            with path.open("w") as f:
                for i, name in enumerate(names):
                    secs = (ts[i] / 1000).tolist()
                    f.writelines(
                        f"{name} {v!r} {t:.3f}\n" for t, v in zip(secs, vals[i].tolist(), strict=True)
                    )
                f.write("# EOF\n")
            paths.append(path)
        return paths

    def write_openmetrics_file(self, path: Path, chunk_ms: int) -> int:
        """All samples as one OpenMetrics file, written a slice of ``chunk_ms`` at a time (series by
        series within a slice, so a series' samples stay in time order); returns the bytes written."""
        names = [self._om_name(m, lb) for m, lb in self.series_labels()]
        with path.open("w") as f:
            for ts, vals in self.chunks(chunk_ms):
                secs, values = (ts / 1000).tolist(), vals.tolist()
                for i, name in enumerate(names):
                    f.writelines(f"{name} {v!r} {t:.3f}\n" for t, v in zip(secs[i], values[i], strict=True))
            f.write("# EOF\n")
        return path.stat().st_size

    @staticmethod
    def _om_name(metric: str, labels: tuple[tuple[str, str], ...]) -> str:
        return metric + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"
