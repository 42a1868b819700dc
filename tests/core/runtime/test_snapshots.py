"""Scheduled snapshots: the daemon's job writes the day's files once, prunes old ones; file names."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import polars as pl
import pytest

from core.kernel.errors import ConfigError
from core.kernel.settings import load_settings
from core.runtime.daemon import run_daemon
from core.runtime.snapshot_files import file_name, parse_name, ready_folder
from core.runtime.snapshots import DAY_MS, DailySnapshots, snapshot_frames, take
from core.storage.tsdb import open_store
from tests.demo_store import HOUR, write_demo


def test_names_say_what_and_when() -> None:
    at = 1_796_256_000_000  # 2026-12-03 00:00 UTC
    assert file_name("usage-per-team", at) == "usage-per-team_2026-12-03T0000Z.csv"
    assert parse_name("usage-per-team_2026-12-03T0000Z.csv") == ("usage-per-team", at)
    assert parse_name("usage-per-team_2026-12-03.csv") is None
    assert parse_name("../usage-per-team_2026-12-03T0000Z.csv") is None
    with pytest.raises(ValueError, match="unknown snapshot 'secrets'"):
        file_name("secrets", at)


def test_a_file_where_the_folder_should_be_is_named(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match=r"setting 'snapshots.folder' .*/f: exists and is not a folder"):
        ready_folder(tmp_path / "f", "setting 'snapshots.folder'")
    with pytest.raises(
        ConfigError, match="setting 'snapshots.folder': Value error, exists and is not a folder"
    ):
        load_settings(snapshots={"folder": str(tmp_path / "f")})


def test_daily_job_writes_the_day_once_and_prunes(tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    url = f"sqlite:///{tmp_path}/p.db"
    write_demo(url, now - 6 * HOUR, now, step_s=600, hosts=2, servers_per_host=2)
    settings = load_settings(database_url=url, snapshots={"folder": str(tmp_path / "s"), "retention_days": 2})
    (tmp_path / "s").mkdir()
    old = tmp_path / "s" / file_name("usage-per-user", now - 5 * DAY_MS)
    old.write_text("x\n")
    store = open_store(settings)
    clock = [now]
    job = DailySnapshots(store, settings, lambda: clock[0])
    try:
        day = now // DAY_MS * DAY_MS
        assert job.due() == day
        taken = job()
        assert taken is not None and old in taken.deleted and not old.exists()
        assert (tmp_path / "s" / file_name("usage-per-team", day)).exists()
        assert job.due() is None and job() is None  # written once a day
        clock[0] = day + DAY_MS + 60_000  # the next day
        assert job.due() == day + DAY_MS
    finally:
        store.close()


def test_the_daemon_schedules_the_job_and_it_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = int(time.time() * 1000)
    url = f"sqlite:///{tmp_path}/p.db"
    write_demo(url, now - 6 * HOUR, now, step_s=600, hosts=2, servers_per_host=2)
    folder = tmp_path / "snaps"
    settings = load_settings(
        database_url=url,
        data_dir=tmp_path / "data",
        collectors=[],
        snapshots={"folder": str(folder), "check_interval_s": 1},
    )
    stop = threading.Event()
    runner = threading.Thread(target=run_daemon, args=(settings, stop), kwargs={"metrics_port": 0})
    runner.start()
    day = int(time.time() * 1000) // DAY_MS * DAY_MS
    want = folder / file_name("capacity-forecast", day)
    try:
        deadline = time.monotonic() + 120
        while not want.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        runner.join(60)
    assert want.exists(), sorted(folder.iterdir()) if folder.exists() else "no folder"
    assert (folder / file_name("usage-per-team", day)).exists()
    assert f"pulse collect: daily CSV snapshots in {folder}" in capsys.readouterr().out


def test_snapshots_price_usage_at_the_installations_prices(tmp_path: Path) -> None:
    """The per-team cost is the configured unit prices (``[prices]``, PULSE_PRICES__*) times the
    requested core- and GiB-hours, the figures the Usage view starts from; not the defaults."""
    now = int(time.time() * 1000) // HOUR * HOUR
    url = f"sqlite:///{tmp_path}/p.db"
    write_demo(url, now - 4 * HOUR, now, step_s=600, hosts=2, servers_per_host=2)
    prices = {"currency": "EUR", "cpu_core_hour": 1.5, "memory_gib_hour": 0.25}
    default = load_settings(database_url=url, snapshots={"folder": str(tmp_path / "d")})
    priced = load_settings(database_url=url, snapshots={"folder": str(tmp_path / "p")}, prices=prices)
    store = open_store(priced)
    try:
        teams = snapshot_frames(store, priced, now)["usage-per-team"]
        want = teams["cpu_request_core_hours"] * 1.5 + teams["memory_request_gib_hours"] * 0.25
        assert teams["cpu_request_core_hours"].sum() > 0
        assert (teams["cost"] - want).abs().max() < 1e-3
        before = snapshot_frames(store, default, now)["usage-per-team"]
        assert (before["cost"] - want).abs().max() > 1  # the defaults would have priced it differently
        taken = take(store, priced, now)
        csv = pl.read_csv(next(p for p in taken.written if p.name.startswith("usage-per-team_")))
        assert csv["cost"].to_list() == pytest.approx(teams["cost"].to_list(), nan_ok=True)
    finally:
        store.close()


def test_prices_come_from_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_PRICES__CPU_CORE_HOUR", "0.5")
    assert load_settings().prices.cpu_core_hour == 0.5
    with pytest.raises(ConfigError, match="prices.memory_gib_hour"):
        load_settings(prices={"memory_gib_hour": -1})
