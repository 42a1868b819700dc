"""What watching itself costs Pulse: the daemon's `self` job, the UI's own figures, the run-now poll."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry

from bench.common import Row, fresh_store
from core.runtime.selfstats import UiRecorder, daemon_samples
from core.storage.repos.job_requests import JobRequests
from core.storage.repos.notifications import DbOutbox

RUNS = 40


def _ms(fn: Callable[[], object], runs: int = RUNS) -> tuple[float, float]:
    """Median wall time and mean CPU time of this process, in ms."""
    times = []
    c0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, (time.process_time() - c0) / runs * 1000


def run(folder: Path) -> list[Row]:
    store = fresh_store(folder, "selfmon")
    registry, outbox = CollectorRegistry(), DbOutbox(store.engine)
    durations = {f"job{i}": 0.01 for i in range(12)}

    def measure() -> None:
        daemon_samples(store, registry, durations, folder, 0, outbox.__len__)

    samples = daemon_samples(store, registry, durations, folder, 0, outbox.__len__)
    recorder = UiRecorder(store)
    requests = JobRequests(store.engine)
    jobs = set(durations)
    measure_ms, write_ms, ui_ms = _ms(measure), _ms(lambda: store.write(samples)), _ms(recorder.record)
    poll_ms = _ms(lambda: requests.take(jobs, "bench:1", store.now_ms()))
    store.close()
    # CPU seconds per second of the daemon: the self job every 15 s (in the daemon its samples join
    # the writer's batch; a separate write is the upper bound) and the poll every 2 s
    share = (measure_ms[1] + write_ms[1]) / 15_000 + poll_ms[1] / 2_000
    ui_share = ui_ms[1] / 15_000

    def fig(t: tuple[float, float]) -> str:
        return f"{t[0]:.2f} ms wall, {t[1]:.2f} ms CPU"

    return [
        Row(f"daemon `self` job: measuring ({len(samples)} samples)", fig(measure_ms), "every 15 s"),
        Row(
            "daemon `self` job: writing them alone (SQLite)",
            fig(write_ms),
            "upper bound: batched in the daemon",
        ),
        Row("dashboard's own figures (one write)", fig(ui_ms), "every 15 s per UI process"),
        Row("run-now poll without an open request", fig(poll_ms), "every 2 s"),
        Row(
            "self-monitoring CPU in the daemon, share of one core",
            f"{share:.3%}",
            f"UI process: {ui_share:.3%}",
            "< 0.1% of a core",
            "ok" if share < 0.001 and ui_share < 0.001 else "MISS",
        ),
    ]
