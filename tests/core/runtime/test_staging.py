"""A streaming scrape's samples are staged while its body is parsed and kept only when the whole
body converted (Prometheus' commit or rollback), with bounded memory: real HTTP targets, the real
scheduler, writer and SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.scrape import ScrapeCollector
from core.kernel.samples import Sample, labels_of, now_ms
from core.kernel.settings import load_settings
from core.kernel.settings.sources.scrape import ScrapeSource
from core.runtime.scheduler import PulseScheduler
from core.runtime.selfmetrics import SelfMetrics
from core.runtime.spool import BufferedWriter
from core.runtime.staging import Stage, StageClosed
from core.storage.tsdb.store import open_store
from tests.bigtarget import BigTarget

N = 25_000  # samples in the body: several sink batches and two staged files of CHUNK


def body(n: int, last: str = "") -> bytes:
    lines = [f'staging_test_bytes{{pod="p{i}"}} {i}' for i in range(n)]
    return ("\n".join(lines) + "\n" + last).encode()


def scheduler(tmp_path: Path, url: str) -> tuple[PulseScheduler, BufferedWriter]:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/pulse.db",
        data_dir=tmp_path,
        ingest={"max_series_per_metric": 100_000},
    )
    store = open_store(settings)
    writer = BufferedWriter(store, tmp_path / "spool", max_buffer=100_000, retry_interval_s=0)
    big = ScrapeCollector(ScrapeSource(name="big", url=url, max_body_bytes=64 * 1024 * 1024))
    return PulseScheduler(settings, store, [big], writer, SelfMetrics()), writer


def test_a_big_body_is_staged_in_files_then_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.runtime.spool.CHUNK", 10_000)  # a staged file per 10,000 samples
    target = BigTarget(body(N), seconds=0.5)
    sched, writer = scheduler(tmp_path, target.url)
    staged: list[int] = []
    adopt = writer.adopt
    writer.adopt = lambda files: (staged.extend(n for _, n in files), adopt(files))[-1]  # type: ignore[method-assign]
    try:
        assert sched.run_collector_once("big").ok
        assert staged == [10_000, 10_000]  # held at most one file's worth; the rest queued
        assert writer.flush() or writer.flush()
        t = now_ms()
        df = sched.store.select("staging_test_bytes", t - 60_000, t + 1000, step_ms=1, resolution="raw")
        assert df.height == N
        assert not list((tmp_path / "spool").glob("stage-*")) and not list(
            (tmp_path / "spool").glob("spool-*")
        )
    finally:
        sched.shutdown()
        sched.store.close()
        target.stop()


def test_a_body_that_fails_at_its_end_leaves_nothing_staged_or_stored(tmp_path: Path) -> None:
    target = BigTarget(body(N, last="staging_test_bytes{pod=} 1\n"), seconds=0.5)
    sched, writer = scheduler(tmp_path, target.url)
    try:
        h = sched.run_collector_once("big")
        assert not h.ok and h.last_error is not None and f"line {N + 1}" in h.last_error
        writer.flush()
        t = now_ms()
        assert (
            sched.store.select("staging_test_bytes", t - 60_000, t + 1000, step_ms=1, resolution="raw").height
            == 0
        )
        up = sched.store.select("pulse_scrape_up", t - 60_000, t + 1000, step_ms=1, resolution="raw")
        assert up["value"].to_list() == [0.0]
        assert not list((tmp_path / "spool").iterdir())
    finally:
        sched.shutdown()
        sched.store.close()
        target.stop()


def test_a_discarded_stage_refuses_late_batches_and_deletes_its_files(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path)
    store = open_store(settings)
    writer = BufferedWriter(store, tmp_path / "spool", max_buffer=1000)
    try:
        stage = Stage(writer, chunk=5)
        stage.add([Sample("staging_late", labels_of(i=i), now_ms(), 1.0) for i in range(7)])
        assert stage.count == 7 and len(list((tmp_path / "spool").glob("stage-*.staged"))) == 1
        stage.discard()
        assert not list((tmp_path / "spool").iterdir())
        with pytest.raises(StageClosed, match="abandoned as hung"):
            stage.add([Sample("staging_late", (), now_ms(), 1.0)])  # a hung collect() waking up
        assert writer.pending == 0
    finally:
        writer.close()
        store.close()


def test_a_stage_a_killed_daemon_left_is_rolled_back_at_start(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path)
    store = open_store(settings)
    writer = BufferedWriter(store, tmp_path / "spool", max_buffer=1000)
    Stage(writer, chunk=2).add([Sample("staging_left", labels_of(i=i), now_ms(), 1.0) for i in range(2)])
    writer.close()
    again = BufferedWriter(store, tmp_path / "spool", max_buffer=1000)
    try:
        assert again.pending == 0 and not list((tmp_path / "spool").iterdir())
    finally:
        again.close()
        store.close()


def test_a_spill_is_cut_into_files_read_back_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.runtime.spool.CHUNK", 4)
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path)
    store = open_store(settings)
    writer = BufferedWriter(store, tmp_path / "spool", max_buffer=1000)
    try:
        writer._buf.extend(Sample("staging_spill", labels_of(i=i), now_ms(), 1.0) for i in range(10))
        with writer._lock:
            writer._spill()
        assert sorted(writer.spool.files.values()) == [2, 4, 4] and writer.pending == 10
        assert writer.flush()
    finally:
        writer.close()
        store.close()


def test_samples_of_other_sources_are_written_between_the_files_of_a_big_body(tmp_path: Path) -> None:
    """Issue 15 item 18: a huge body's staged files do not hold back the other sources' samples
    (by hand: 370,000 samples drained in 42 s while the small targets' newest stored sample aged
    to 42 s). What collection queues while a staged file is written goes in before the next one,
    and every sample is stored."""
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path)
    store = open_store(settings)
    writer = BufferedWriter(store, tmp_path / "spool", max_buffer=100_000, retry_interval_s=0)
    t = now_ms()
    stage = Stage(writer, chunk=1_000)
    for part in range(3):  # three staged files of 1,000
        stage.add([Sample("big_bytes", labels_of(pod=f"p{part}-{i}"), t, 1.0) for i in range(1_000)])
    stage.commit([])
    calls: list[set[str]] = []
    write = store.write
    small = iter(range(1, 100))

    def recording(batch):  # type: ignore[no-untyped-def]
        calls.append({s.metric for s in batch})
        if "big_bytes" in calls[-1]:  # collection goes on meanwhile: a small scrape is queued
            writer._incoming.append(Sample("small_up", labels_of(target="s"), t + next(small), 1.0))
        return write(batch)

    store.write = recording  # type: ignore[method-assign]
    try:
        assert writer.flush() or writer.flush()
        assert [sorted(c) for c in calls[:5]] == [
            ["big_bytes"],
            ["small_up"],
            ["big_bytes"],
            ["small_up"],
            ["big_bytes"],
        ], calls
        assert store.select("big_bytes", t, t + 1, step_ms=1, resolution="raw").height == 3_000
        got = store.select("small_up", t, t + 1000, step_ms=1, resolution="raw")
        assert got.height == 3
    finally:
        store.close()
