"""Failures of real databases: corrupt files, locks, unreachable servers and failed transactions
(the writer's caches must not keep anything of a rolled-back write); query validation."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.kernel.errors import PulseError, QueryError, StorageError, StorageUnavailable
from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.storage.tsdb.store import Store, open_store
from tests.conftest import T0_MS

MIN = 60_000


def points(store: Store) -> dict[tuple[str, int], float]:
    found = store.series("m")
    host = dict(zip(found["id"], [lb["host"] for lb in found["labels"]], strict=True))
    return {(host[s], t): v for s, t, v in store.raw(list(host), 0, 2**62).iter_rows()}


@pytest.mark.parametrize("size", [100, 65_536])
def test_a_corrupt_sqlite_file_is_a_storage_error_on_open(tmp_path: Path, size: int) -> None:
    path = tmp_path / "pulse.db"
    path.write_bytes(os.urandom(size))
    with pytest.raises(StorageError, match="corrupt") as err:
        open_store(load_settings(database_url=f"sqlite:///{path}"))
    assert not isinstance(err.value, StorageUnavailable) and err.value.__cause__ is not None


def test_an_unreachable_postgresql_is_storage_unavailable() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test?connect_timeout=3"
    with pytest.raises(StorageUnavailable, match="database unavailable"):
        open_store(load_settings(database_url=url))


def test_an_impossible_sqlite_path_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(StorageError):
        open_store(load_settings(database_url=f"sqlite:///{tmp_path}/a_file/pulse.db"))


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Another connection holds the write lock of the SQLite file, as a busy process would."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        yield
        con.execute("ROLLBACK")
    finally:
        con.close()


def short_busy_timeout(store: Store) -> None:
    """Wait 50 ms instead of 5 s for a lock, so the test stays short (same failure, sooner)."""
    sa.event.listen(store.engine, "connect", lambda dbapi, _rec: dbapi.execute("PRAGMA busy_timeout=50"))
    store.engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(
        load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db"), clock=lambda: T0_MS / 1000
    )
    yield store
    store.close()


def test_a_locked_sqlite_is_unavailable_and_the_writer_caches_stay_clean(sqlite_store: Store) -> None:
    store = sqlite_store
    short_busy_timeout(store)
    a, b = labels_of(host="a"), labels_of(host="b")
    assert store.write([Sample("m", a, T0_MS - 30 * MIN, 1.0)]).accepted == 1
    locked = pytest.raises(StorageUnavailable, match="database is locked")
    with exclusive_lock(Path(store.engine.url.database or "")), locked:
        store.write([Sample("m", a, T0_MS, 2.0), Sample("m", b, T0_MS, 3.0)])
    # the failed write moved no head forward: 80 min back is still within an hour of the last commit
    assert store.write([Sample("m", a, T0_MS - 80 * MIN, 4.0)]).accepted == 1
    res = store.write([Sample("m", a, T0_MS, 2.0), Sample("m", b, T0_MS, 3.0)])
    assert (res.accepted, res.new_series, res.rejected) == (2, 1, {})
    assert points(store) == {
        ("a", T0_MS - 30 * MIN): 1.0,
        ("a", T0_MS - 80 * MIN): 4.0,
        ("a", T0_MS): 2.0,
        ("b", T0_MS): 3.0,
    }
    assert store.series_count() == 2


FAIL_SQLITE = (
    "CREATE TRIGGER fail_head BEFORE INSERT ON head BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
)
FAIL_PG = [
    "CREATE FUNCTION fail_head() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
    "CREATE TRIGGER fail_head BEFORE INSERT ON head FOR EACH ROW EXECUTE FUNCTION fail_head()",
]


@contextlib.contextmanager
def failing_head_inserts(store: Store) -> Iterator[None]:
    """A trigger makes every insert into ``head`` fail: the new series rows of the same
    transaction were already inserted and are rolled back with it."""
    pg = store.engine.dialect.name == "postgresql"
    with store.engine.begin() as conn:
        for sql in FAIL_PG if pg else [FAIL_SQLITE]:
            conn.exec_driver_sql(sql)
    try:
        yield
    finally:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER fail_head" + (" ON head" if pg else ""))


def test_a_failed_transaction_leaves_no_stale_ids_heads_or_counts(make_store: Callable[..., Store]) -> None:
    store = make_store(ingest={"max_series_per_metric": 3})
    a, b, c = labels_of(host="a"), labels_of(host="b"), labels_of(host="c")
    assert store.write([Sample("m", a, T0_MS - 30 * MIN, 1.0)]).accepted == 1
    with failing_head_inserts(store), pytest.raises(StorageError, match="injected failure"):
        store.write([Sample("m", a, T0_MS, 9.0), Sample("m", b, T0_MS, 9.0)])
    assert store.series_count() == 1  # b's row was rolled back
    # a new series now takes whatever id b had in the rolled-back transaction (SQLite reuses it)
    assert store.write([Sample("m", c, T0_MS, 3.0)]).new_series == 1
    assert store.write([Sample("m", a, T0_MS - 80 * MIN, 4.0)]).accepted == 1  # head of a not moved
    res = store.write([Sample("m", a, T0_MS, 2.0), Sample("m", b, T0_MS, 5.0)])
    assert (res.accepted, res.new_series, res.rejected) == (2, 1, {})  # b fits: the count was not bumped
    assert store.write([Sample("m", labels_of(host="d"), T0_MS, 1.0)]).rejected == {"cardinality": 1}
    assert points(store) == {
        ("a", T0_MS - 30 * MIN): 1.0,
        ("a", T0_MS - 80 * MIN): 4.0,
        ("a", T0_MS): 2.0,
        ("b", T0_MS): 5.0,
        ("c", T0_MS): 3.0,
    }


QUERY_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"start_ms": T0_MS, "end_ms": T0_MS}, "range is empty"),
    ({"start_ms": T0_MS, "end_ms": T0_MS - 1}, "range is empty"),
    ({"step_ms": 0}, "step must be positive"),
    ({"step_ms": -60_000}, "step must be positive"),
    ({"over_time": "median"}, "unknown aggregation over time 'median'"),
    ({"across": "last"}, "unknown aggregation across series 'last'"),
    ({"quantile": 1.5}, "quantile must be between 0 and 1"),
    ({"quantile": -0.1}, "quantile must be between 0 and 1"),
    ({"resolution": "5m"}, "unknown resolution '5m'"),
]


def test_bad_queries_raise_query_error_with_the_reason(store: Store) -> None:
    store.write([Sample("m", labels_of(host="a"), T0_MS, 1.0)])
    for kw, message in QUERY_ERRORS:
        args = {"start_ms": T0_MS - MIN, "end_ms": T0_MS + MIN} | kw
        with pytest.raises(QueryError, match=message):
            store.select("m", **args)
    assert issubclass(QueryError, PulseError) and issubclass(StorageUnavailable, StorageError)
