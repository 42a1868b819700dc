"""``pulse up`` writes the demo history without compacting it, so the dashboard answers in seconds.

The history must read the same before compaction (head blocks; rollups computed from raw samples
on the fly) as after the daemon's maintenance has packed it into chunks and rollups."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from core.runtime.backfill import backfill_demo
from core.storage.schema import chunks, head
from core.storage.tsdb import Store
from tests.conftest import FakeClock

DAY = 86_400_000
DEMO = {"seed": 7, "hosts": 2, "teams": 2, "servers_per_host": 2}
QUERIES = [  # (selector, step, over_time, resolution): a raw hour, 1 m and 1 h rollups
    ("host_cpu_utilization_ratio", 60_000, "avg", "raw"),
    ("container_memory_working_set_bytes", 300_000, "max", "1m"),
    ("mcp_server_tool_calls_total", 3_600_000, "last", "1h"),
]


def _count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _answers(store: Store, end: int) -> list[list[tuple[object, ...]]]:
    return [
        sorted(store.select(sel, end - DAY, end, step_ms=step, over_time=over, resolution=res).rows())
        for sel, step, over, res in QUERIES
    ]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_uncompacted_history_reads_as_it_will_after_compaction(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store(demo=DEMO)
    n = backfill_demo(store, store.settings, days=1.5, progress=False, clock=clock, compact=False)
    assert n > 0 and _count(store, chunks) == 0  # all of it in head blocks
    end = int(store.get_meta("demo_backfilled_until_ms") or 0)
    before = _answers(store, end)
    assert all(before), "a query found nothing in the uncompacted history"
    store.compact()
    assert _count(store, chunks) > 0 and _count(store, head) < 10
    assert _answers(store, end) == before
