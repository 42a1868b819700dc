"""Pulse's database, spool and their folders are private to the user that runs it (0600 / 0700)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from core.kernel.samples import Sample
from core.kernel.settings import load_settings
from core.runtime.spool import BufferedWriter
from core.storage.tsdb import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def lax_umask() -> object:
    old = os.umask(0o022)  # what most shells have: new files world-readable unless Pulse says otherwise
    yield
    os.umask(old)


def test_a_new_sqlite_store_and_its_folder_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    store = open_store(load_settings(database_url=f"sqlite:///{folder}/pulse.db"))
    store.write([Sample("m", (), store.now_ms(), 1.0)])
    assert mode(folder) == 0o700
    for f in folder.iterdir():  # pulse.db, pulse.db-wal, pulse.db-shm
        assert mode(f) == 0o600, f
    store.close()


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path}/p.db"))
    assert mode(tmp_path) == 0o755 and mode(tmp_path / "p.db") == 0o600
    store.close()


class Down:
    """A store that is unavailable, so the writer spills to its spool."""

    def write(self, samples: object) -> object:
        from core.kernel.errors import StorageUnavailable

        raise StorageUnavailable("down for the test")


def test_the_spool_folder_and_its_files_are_private(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    writer = BufferedWriter(Down(), spool, max_buffer=2, retry_interval_s=0)  # type: ignore[arg-type]
    writer.write([Sample("m", (), 1_000, float(i)) for i in range(5)])
    files = list(spool.iterdir())
    assert mode(spool) == 0o700 and files
    assert all(mode(f) == 0o600 for f in files)
