"""A small demo platform written into a temporary store, with the model that made it (ground truth).

Used by the usage domain tests and the Usage page test: every value in the store is a pure
function of the demo settings and time, so a test can recompute what a view should show.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.demo import DemoCollector
from core.kernel.settings import DemoSettings, load_settings
from core.storage.tsdb import open_store

HOUR = 3_600_000


@dataclass(frozen=True)
class DemoStore:
    url: str
    demo: DemoCollector
    start_ms: int
    end_ms: int
    step_ms: int

    @property
    def teams(self) -> tuple[str, ...]:
        return self.demo.topology.teams

    def owners(self) -> dict[str, tuple[str, str]]:
        """server -> (team, user)."""
        return {s.name: (s.team, s.user) for s in self.demo.topology.servers}


def write_demo(url: str, start_ms: int, end_ms: int, step_s: int = 300, **demo: int) -> DemoStore:
    """The demo fleet (``DemoSettings(**demo)``) sampled every ``step_s`` over [start, end), rolled up."""
    settings = DemoSettings(**demo)
    collector = DemoCollector(settings, clock=lambda: end_ms / 1000)
    store = open_store(load_settings(database_url=url))
    try:
        for batch in collector.backfill(start_ms, end_ms, step_s * 1000):
            store.write(batch)
        store.compact()
        store.run_rollups()
    finally:
        store.close()
    return DemoStore(url, collector, start_ms, end_ms, step_s * 1000)
