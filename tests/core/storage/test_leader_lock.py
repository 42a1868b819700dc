"""The leader lock adapters against the real databases: PostgreSQL's session advisory lock on its
own connection, SQLite's flock on ``<database>.leader``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.cli.main import ROOT
from core.kernel.errors import StorageUnavailable
from core.storage.leader_lock import AlwaysLeader, PgAdvisoryLock, SqliteFileLock, leader_lock
from tests.conftest import PgSchemas


@pytest.fixture
def two_schemas(pg_schemas: PgSchemas) -> Iterator[tuple[str, str]]:
    made = [pg_schemas.create() for _ in range(2)]
    yield made[0][1], made[1][1]
    for name, _ in made:
        pg_schemas.drop(name)


def backend_pids(url: str, node: str) -> list[int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        q = sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name")
        pids = [int(p) for p in conn.execute(q, {"name": f"pulse-leader:{node}"}).scalars()]
    engine.dispose()
    return pids


@pytest.mark.postgres
def test_one_holder_a_second_is_refused_and_closing_releases(pg_schema_url: str) -> None:
    a, b = leader_lock(pg_schema_url, "node-a"), leader_lock(pg_schema_url, "node-b")
    assert isinstance(a, PgAdvisoryLock) and a.kind == "postgresql"
    try:
        assert not a.check()  # nothing taken yet
        assert a.try_acquire() and a.check()
        assert a.try_acquire()  # again: still held, by the same connection
        assert not b.try_acquire() and not b.check()
        assert b.holder() == a.holder() == "pulse-leader:node-a"
        a.close()
        assert not a.check()
        assert b.try_acquire() and b.holder() == "pulse-leader:node-b"
        assert not a.try_acquire()  # the old holder, back, is now the one refused
    finally:
        a.close()
        b.close()


@pytest.mark.postgres
def test_the_lock_goes_with_its_connection(pg_schema_url: str, pg_server_url: str) -> None:
    a, b = PgAdvisoryLock(pg_schema_url, "node-a"), PgAdvisoryLock(pg_schema_url, "node-b")
    try:
        assert a.try_acquire()
        (pid,) = backend_pids(pg_server_url, "node-a")
        admin = sa.create_engine(pg_server_url, poolclass=sa.pool.NullPool)
        with admin.connect() as conn:  # the server ends the session (as when its client dies)
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
        admin.dispose()
        assert b.try_acquire()  # released with the session, at once
        with pytest.raises(StorageUnavailable, match="checking the leader lock"):
            a.check()  # the old holder learns it on its next check ...
        assert not a.held and not a.check()  # ... and holds nothing any more
    finally:
        a.close()
        b.close()


@pytest.mark.postgres
def test_a_killed_holder_process_releases_the_lock(pg_schema_url: str) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time
                from core.storage.leader_lock import leader_lock
                lock = leader_lock(sys.argv[1], "child")
                print(lock.try_acquire(), flush=True)
                time.sleep(120)
                """
            ),
            pg_schema_url,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    b = leader_lock(pg_schema_url, "node-b")
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "True"
        assert not b.try_acquire() and b.holder() == "pulse-leader:child"
        child.kill()  # SIGKILL: no unlock, only the kernel closing the socket
        child.wait(10)
        deadline = time.monotonic() + 5
        while not b.try_acquire():
            assert time.monotonic() < deadline, "the lock of a killed holder was not released"
            time.sleep(0.05)
    finally:
        child.kill()
        b.close()


@pytest.mark.postgres
def test_schemas_of_one_database_elect_apart(two_schemas: tuple[str, str]) -> None:
    a, b = leader_lock(two_schemas[0], "node-a"), leader_lock(two_schemas[1], "node-b")
    try:
        assert a.try_acquire() and b.try_acquire()
    finally:
        a.close()
        b.close()


def test_an_unreachable_server_is_storage_unavailable() -> None:
    lock = leader_lock("postgresql+psycopg://postgres@127.0.0.1:9/test", "node-a")
    with pytest.raises(StorageUnavailable, match="taking the leader lock: database unavailable"):
        lock.try_acquire()
    assert not lock.check()
    lock.close()


def test_sqlite_one_holder_per_file_named_in_the_lock_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/pulse.db"
    a, b = leader_lock(url, "node-a"), leader_lock(url, "node-b")
    assert isinstance(a, SqliteFileLock) and a.kind == "sqlite"
    try:
        assert a.try_acquire() and a.check()
        assert not b.try_acquire() and not b.check()
        assert (b.holder() or "").startswith("node-a pid ")
        assert (tmp_path / "pulse.db.leader").is_file()
        a.close()
        assert b.try_acquire() and (a.holder() or "").startswith("node-b pid ")
    finally:
        a.close()
        b.close()


def test_sqlite_in_memory_always_leads() -> None:
    lock = leader_lock("sqlite:///:memory:", "node-a")
    assert isinstance(lock, AlwaysLeader) and lock.try_acquire() and lock.check()
