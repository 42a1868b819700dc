"""BufferedWriter against a real SQLite store made unavailable for real (a lock held by another
connection) and a real PostgreSQL URL that refuses connections."""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from core.kernel.errors import StorageError
from core.kernel.samples import STALE_NAN, Sample, labels_of
from core.kernel.settings import Settings, load_settings
from core.runtime.selfmetrics import SelfMetrics
from core.runtime.spool import BufferedWriter
from core.runtime.spoolfile import encode
from core.storage.engine import make_engine
from core.storage.tsdb.store import Store, open_store

REFUSED_URL = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # port 1: connection refused
T0 = int(time.time() * 1000) - 600_000


def make_settings(tmp_path: Path, **ingest: int) -> Settings:
    return load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path, ingest=ingest)


def batch(start: int, n: int, metric: str = "spool_test", **labels: object) -> list[Sample]:
    """``n`` samples of one series at distinct, increasing timestamps (index ``start`` onwards)."""
    return [Sample(metric, labels_of(**labels), T0 + (start + i) * 100, float(start + i)) for i in range(n)]


def stored(store: Store, metric: str = "spool_test") -> int:
    df = store.select(
        metric,
        T0 - 1000,
        T0 + 3_600_000,
        step_ms=3_700_000,
        over_time="count",
        resolution="raw",
        across="sum",
    )
    return int(df["value"].sum()) if df.height else 0


def fast_busy(store: Store) -> Store:
    """Give the store's SQLite connections a 50 ms busy timeout so a held lock fails fast."""

    @sa.event.listens_for(store.engine, "connect")
    def _short(dbapi_conn: sqlite3.Connection, _rec: object) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=50")

    store.engine.dispose()
    return store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = fast_busy(open_store(settings))
    yield s
    s.close()


@pytest.fixture
def down_store(settings: Settings) -> Store:
    return Store(make_engine(REFUSED_URL), settings)


class Lock:
    """Holds an exclusive lock on the SQLite file from another connection, as another process would."""

    def __init__(self, settings: Settings) -> None:
        self.conn = sqlite3.connect(settings.url.removeprefix("sqlite:///"), isolation_level=None)

    def __enter__(self) -> Lock:
        self.conn.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def test_outage_then_recovery_writes_everything_once_and_in_order(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, out_of_order_window_s=0)  # a reordered sample would be rejected
    store = fast_busy(open_store(settings))
    metrics = SelfMetrics()
    w = BufferedWriter(store, tmp_path / "spool", max_buffer=1000, metrics=metrics, retry_interval_s=0)
    assert w.write(batch(0, 10)).accepted == 10
    with Lock(settings):
        assert w.write(batch(10, 10)).accepted == 0
        assert w.write(batch(20, 10)).accepted == 0
        assert w.pending == 20 and w.stats.buffered == 20
        assert w.last_error is not None and "locked" in w.last_error
        assert metrics.registry.get_sample_value("pulse_buffered_samples") == 20
    res = w.write(batch(30, 10))
    assert (res.accepted, sum(res.rejected.values())) == (30, 0)
    assert w.pending == 0 and w.stats.recovered == 20 and w.stats.written == 40 and w.last_error is None
    assert stored(store) == 40
    assert metrics.registry.get_sample_value("pulse_samples_ingested_total") == 40
    assert metrics.registry.get_sample_value("pulse_buffered_samples") == 0
    assert list(w.spool_dir.iterdir()) == []


def test_spills_past_max_buffer_and_a_restarted_writer_recovers(tmp_path: Path, down_store: Store) -> None:
    spool = tmp_path / "spool"
    metrics = SelfMetrics()
    w = BufferedWriter(down_store, spool, max_buffer=100, metrics=metrics, retry_interval_s=0)
    for i in range(5):
        assert w.write(batch(i * 40, 40)).accepted == 0
    assert w.stats.spilled == 120 and w.pending == 200  # 120 on disk (spilled at 120 > 100), 80 in memory
    assert len(list(spool.glob("spool-*.jsonl"))) == 1
    w.close()  # still down: the memory buffer goes to disk too
    files = sorted(spool.glob("spool-*.jsonl"))
    assert [json.loads(f.read_text().splitlines()[0])["count"] for f in files] == [120, 80]
    assert metrics.registry.get_sample_value("pulse_spooled_samples_total") == 200
    assert not list(spool.glob("*.tmp"))

    settings = make_settings(tmp_path, out_of_order_window_s=0)
    good = open_store(settings)
    w2 = BufferedWriter(good, spool, max_buffer=100, retry_interval_s=0)
    assert w2.pending == 200  # picked up from the previous run
    res = w2.write(batch(200, 5))
    assert (res.accepted, sum(res.rejected.values())) == (205, 0)
    assert stored(good) == 205 and w2.stats.recovered == 200
    assert list(spool.iterdir()) == []


def test_corrupt_spool_files_are_set_aside_and_the_rest_recovered(
    tmp_path: Path, down_store: Store, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    w = BufferedWriter(down_store, spool, max_buffer=10, retry_interval_s=0)
    for i in range(3):
        w.write(batch(i * 20, 20))
    first, second, third = sorted(spool.glob("spool-*.jsonl"))
    second.write_text(second.read_text().splitlines()[0] + "\n[1, 2]\n")  # damaged body
    third.write_bytes(b"\x00\x01garbage")  # unreadable header
    (spool / "spool-000000000099.jsonl.tmp").write_text("half a spill")  # crash mid-spill
    caplog.clear()
    caplog.set_level(logging.ERROR, logger="core.runtime.spool")

    w2 = BufferedWriter(store, spool, max_buffer=10, retry_interval_s=0)
    assert w2.pending == 40  # first and second; third and the .tmp set aside at start
    assert w2.flush()
    assert stored(store) == 20 and w2.stats.set_aside == 3
    assert sorted(p.name for p in spool.iterdir()) == sorted(
        [second.name + ".bad", third.name + ".bad", "spool-000000000099.jsonl.tmp.bad"]
    )
    assert "header says 20 samples" in caplog.text and "not a version 1 Pulse spool file" in caplog.text
    assert first.name not in caplog.text
    assert BufferedWriter(store, spool, max_buffer=10).pending == 0  # .bad files stay out of the way


def test_nontransient_storage_error_is_raised_but_the_batch_is_kept(
    tmp_path: Path, settings: Settings
) -> None:
    (tmp_path / "pulse.db").write_bytes(b"this is not a sqlite database" * 100)
    w = BufferedWriter(Store(make_engine(settings.url), settings), tmp_path / "spool", max_buffer=1000)
    with pytest.raises(StorageError, match="corrupt"):
        w.write(batch(0, 7))
    assert w.pending == 7


def test_concurrent_writers_during_an_outage_lose_nothing(settings: Settings, store: Store) -> None:
    w = BufferedWriter(store, settings.data_dir / "spool", max_buffer=150, retry_interval_s=0.05)
    threads, per_thread, size = 4, 30, 10

    def produce(t: int) -> None:
        for j in range(per_thread):
            w.write(batch(j * size, size, thread=t))
            time.sleep(0.005)

    with Lock(settings):
        workers = [threading.Thread(target=produce, args=(t,)) for t in range(threads)]
        for th in workers:
            th.start()
        time.sleep(0.3)
    for th in workers:
        th.join(30)
    assert w.flush()
    assert w.stats.buffered > 0
    assert stored(store) == threads * per_thread * size
    assert w.stats.written == threads * per_thread * size


# -- the writer thread: write() only queues -------------------------------------------------------


def test_with_its_thread_write_never_waits_and_an_outage_reaches_the_spool_within_seconds(
    settings: Settings, tmp_path: Path
) -> None:
    slow = open_store(settings)  # the default busy timeout: a locked write waits 5 s
    w = BufferedWriter(slow, tmp_path / "spool", max_buffer=100_000, flush_after_s=0.5)
    w.start()
    lock = sqlite3.connect(settings.url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        t0 = time.monotonic()
        for i in range(20):
            w.write(batch(i * 10, 10))
            time.sleep(0.1)
        assert time.monotonic() - t0 < 2.5  # 20 writes, none waited on the 5 s busy timeout
        deadline = time.monotonic() + 15
        while w.spooled < 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert w.spooled == 200 and w.in_memory == 0  # all of it on disk while the lock holds
        lock.execute("ROLLBACK")
        deadline = time.monotonic() + 20
        while w.pending and time.monotonic() < deadline:
            time.sleep(0.1)
        assert w.pending == 0 and stored(slow) == 200
        assert not list((tmp_path / "spool").glob("spool-*"))
    finally:
        lock.close()
        w.close()
        slow.close()


def test_the_whole_lines_of_a_spill_a_killed_process_left_are_recovered(
    tmp_path: Path, down_store: Store, store: Store
) -> None:
    spool = tmp_path / "spool"
    w = BufferedWriter(down_store, spool, max_buffer=10, retry_interval_s=0)
    w.write(batch(0, 20))
    # killed mid-spill: the next file was being written, its last line torn
    header = json.dumps({"format": "pulse-spool", "version": 1, "count": 6})
    body = [encode(s) for s in batch(100, 6)]
    torn = spool / "spool-000000000002.jsonl.tmp"
    torn.write_text(header + "\n" + "\n".join(body[:5]) + "\n" + body[5][:9])
    w2 = BufferedWriter(store, spool, max_buffer=10, retry_interval_s=0)
    assert w2.pending == 25 and w2.stats.set_aside == 0  # 20 finished + 5 whole lines of the torn spill
    assert not list(spool.glob("*.tmp")) and not list(spool.glob("*.bad"))
    assert w2.flush()
    assert stored(store) == 25
    assert list(spool.iterdir()) == []


@pytest.mark.parametrize("left", ["", '{"format": "pulse-sp'], ids=["empty", "torn-header"])
def test_a_spill_killed_before_its_header_was_whole_is_removed_not_set_aside(
    tmp_path: Path, store: Store, left: str
) -> None:
    """kill -9 right after the spill file was created (seen in the fault suite): it holds no
    sample, so it is removed, not kept as ``*.bad`` for an operator to look at."""
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "spool-000000000001.jsonl.tmp").write_text(left)
    w = BufferedWriter(store, spool, max_buffer=10, retry_interval_s=0)
    assert w.pending == 0 and w.stats.set_aside == 0
    assert list(spool.iterdir()) == []


def test_stale_markers_and_nans_survive_the_spool_bit_for_bit(tmp_path: Path, down_store: Store) -> None:
    """A remote-written stale marker held through an outage is still a marker once stored, and a
    plain NaN is still a plain NaN: JSON's ``NaN`` alone would turn the marker into a value."""
    values = [1.0, math.nan, math.inf, -math.inf, STALE_NAN]
    held = [Sample("spool_nan", (), T0 + i * 1000, v) for i, v in enumerate(values)]
    spool = tmp_path / "spool"
    w = BufferedWriter(down_store, spool, max_buffer=100, retry_interval_s=0)
    assert w.write(held).accepted == 0
    w.close()
    assert '"stale"]' in next(spool.glob("spool-*.jsonl")).read_text()

    good = open_store(make_settings(tmp_path))
    try:
        BufferedWriter(good, spool, max_buffer=100, retry_interval_s=0).flush()
        ids = good.series("spool_nan")["id"].to_list()
        ts, got = good.raw_series(ids, T0, T0 + 10_000)[ids[0]]
        assert ts.tolist() == [T0 + i * 1000 for i in range(5)]
        assert got.view(np.uint64).tolist() == [struct.unpack("<Q", struct.pack("<d", v))[0] for v in values]
    finally:
        good.close()
