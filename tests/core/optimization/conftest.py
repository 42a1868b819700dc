"""Two weeks of demo history in a SQLite store, written once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.demo import DemoCollector
from core.kernel.settings import DemoSettings, load_settings
from core.runtime.backfill import backfill_demo
from core.storage.tsdb import Store, open_store

WEEK_MS, DAY_MS, HOUR_MS, MIN_MS = 604_800_000, 86_400_000, 3_600_000, 60_000
START = 2959 * WEEK_MS  # Thursday 2026-09-17 00:00 UTC, a cycle boundary of the scripted incidents
WEEK1_END = START + WEEK_MS
END = START + 2 * WEEK_MS
STEP_S = 300


@pytest.fixture(scope="session")
def demo() -> DemoCollector:
    return DemoCollector(DemoSettings())


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The default demo fleet from START to END every 5 minutes, rolled up; 'now' is END."""
    folder: Path = tmp_path_factory.mktemp("optimization")
    settings = load_settings(database_url=f"sqlite:///{folder}/pulse.db", demo={"backfill_step_s": STEP_S})
    clock = lambda: END / 1000  # noqa: E731
    store = open_store(settings, clock=clock)
    backfill_demo(store, settings, days=14, progress=False, clock=clock)
    store.run_rollups()
    yield store
    store.close()
