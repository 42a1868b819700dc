"""Maintenance works in short transactions: a write goes in between, it never waits for a whole run.

A compaction of a big head (the demo's week that ``pulse up`` leaves uncompacted) takes tens of
seconds; the collectors' writer spools what it queues after 2 s of waiting, and the dashboard's own
writes (sign-in) wait at most SQLite's busy timeout. So the store's write lock is taken per
transaction, not for the whole run.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import Engine

from core.kernel.samples import Sample, labels_of
from core.storage.tsdb import compaction
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS
from tests.core.storage.tsdb.test_retention_compaction import HOUR, everything, fill


def test_a_write_goes_in_between_two_compaction_transactions(
    make_store: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(ingest={"chunk_seconds": 7200})
    fill(store, T0_MS - 6 * HOUR, T0_MS - 2 * HOUR, hosts=2)
    monkeypatch.setattr(compaction, "_MAX_SAMPLES", 500)  # several transactions
    between, resume = threading.Event(), threading.Event()
    real = compaction.begin_locked

    @contextlib.contextmanager
    def paused_after_first(engine: Engine, lock: object = None) -> Iterator[object]:
        with real(engine, lock) as conn:  # type: ignore[arg-type]
            yield conn
        if not between.is_set():  # the first transaction is committed and its lock released
            between.set()
            assert resume.wait(30)

    monkeypatch.setattr(compaction, "begin_locked", paused_after_first)
    runner = threading.Thread(target=store.compact)
    runner.start()
    try:
        assert between.wait(30), "compaction did not get through its first transaction"
        wrote = threading.Thread(target=store.write, args=([Sample("m", labels_of(host="new"), T0_MS, 1.0)],))
        wrote.start()
        wrote.join(10)
        assert not wrote.is_alive(), "the write waited for the whole compaction run"
    finally:
        resume.set()
        runner.join(60)
    assert not runner.is_alive()
    assert "new" in everything(store)["host"].to_list()
