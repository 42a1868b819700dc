"""Real components for the collector tests: node-exporter and Prometheus on loopback ports, and the
real scheduler (``scheduled``) for what it alone does: book a collector's health."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from collectors.base import Collector
from core.kernel.samples import Sample
from core.kernel.settings import load_settings
from core.runtime.scheduler import PulseScheduler
from core.runtime.selfmetrics import SelfMetrics
from core.runtime.spool import BufferedWriter
from core.storage.tsdb.store import open_store
from tests.promstack import NODE_EXPORTER, PROMETHEUS, NodeExporter, Prometheus, cleanup, require_binary


@pytest.fixture(scope="session")
def node_exporter() -> Iterator[NodeExporter]:
    """One node-exporter for the session (read-only: tests only scrape it)."""
    require_binary(NODE_EXPORTER, "prometheus-node-exporter")
    root = Path(tempfile.mkdtemp(prefix="pulse-node-exporter-"))
    ne = NodeExporter(root)
    ne.start()
    yield ne
    ne.stop()
    cleanup(root)


@pytest.fixture
def prometheus(node_exporter: NodeExporter, tmp_path: Path) -> Iterator[Prometheus]:
    """A fresh Prometheus per test scraping node-exporter every second (tests may stop/start it)."""
    require_binary(PROMETHEUS, "prometheus")
    prom = Prometheus(tmp_path, [f"127.0.0.1:{node_exporter.port}"])
    prom.start()
    prom.wait_for_data('up{job="node"} == 1')
    yield prom
    prom.stop()


class Scheduled:
    """``scheduled(c)``: one run of collector ``c`` by the real scheduler, which alone books health.

    Returns the samples of that run ([] when it failed); ``error`` is what its collect() raised.
    One scheduler (not started: runs are driven by the test) per collector, on a throwaway store.
    """

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.clock: Callable[[], float] = time.time  # the schedulers' (last_success_ms), set before a run
        self.error: BaseException | None = None
        self.settings = load_settings(database_url=f"sqlite:///{root}/pulse.db", data_dir=root)
        self.store = open_store(self.settings)
        self._scheds: dict[int, PulseScheduler] = {}  # by id(c): names may repeat
        self._samples: list[Sample] = []

    def __call__(self, c: Collector) -> list[Sample]:
        sched = self._scheds.get(id(c))
        if sched is None:
            writer = BufferedWriter(
                self.store, self.root / f"spool-{len(self._scheds)}", 100_000, retry_interval_s=0
            )
            seen = _Recording(c, self)
            sched = self._scheds[id(c)] = PulseScheduler(
                self.settings, self.store, [seen], writer, SelfMetrics(), clock=self.clock
            )
        self.error, self._samples = None, []
        sched.run_collector_once(c.name)
        return self._samples

    def close(self) -> None:
        for sched in self._scheds.values():
            sched.shutdown()
        self.store.close()


class _Recording:
    """The collector as the scheduler sees it; remembers what collect() returned or raised."""

    def __init__(self, c: Collector, into: Scheduled) -> None:
        self.c, self.into = c, into
        self.name, self.interval, self.health = c.name, c.interval, c.health
        self.deadline_s = getattr(c, "deadline_s", None)

    def collect(self) -> list[Sample]:
        try:
            self.into._samples = list(self.c.collect())
        except Exception as exc:
            self.into.error = exc
            raise
        return self.into._samples


class TickClock:
    """``time.time`` remembering its last reading: for a collector that reads its clock once per
    collect(), ``now_ms`` is the time of its last tick."""

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self) -> float:
        self.last = time.time()
        return self.last

    @property
    def now_ms(self) -> int:
        return round(self.last * 1000)


@pytest.fixture
def scheduled(tmp_path: Path) -> Iterator[Scheduled]:
    s = Scheduled(tmp_path / "scheduled")
    yield s
    s.close()
