"""The ``postgres`` source against real PostgreSQL servers.

Scans, deletes and VACUUMs in a fresh database change the collected statistics; pg_stat_statements
is read from a throwaway cluster started with ``shared_preload_libraries``; the faults are real (a
closed port, a missing database, a cluster stopped and started again, a lock that makes a view hit
the statement timeout). Statistics are flushed with ``pg_stat_force_next_flush()`` (PostgreSQL 15).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from collectors.postgres import PostgresCollector, _secrets
from collectors.postgres_queries import query_label
from core.kernel.errors import CollectorError
from core.kernel.samples import Sample
from core.kernel.settings.sources.postgres import PostgresSource
from tests.collectors.conftest import Scheduled
from tests.conftest import ThrowawayCluster, _free_port, unavailable

pytestmark = pytest.mark.postgres
SECRET = "hunter2-Very-Secret"


def libpq_url(url: str) -> str:
    """SQLAlchemy's ``postgresql+psycopg://`` URL as libpq wants it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_db(url: str, db: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + db


def with_password(url: str, password: str = SECRET) -> str:
    """``postgresql://user@host`` -> ``postgresql://user:password@host`` (trust auth ignores it)."""
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user.split(':')[0]}:{password}@{host}"


def source(dsn: str, **kw: Any) -> PostgresSource:
    return PostgresSource(name=kw.pop("name", "pg"), dsn=dsn, **kw)


def by_metric(samples: list[Sample], metric: str, **labels: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        s.labels: s.value
        for s in samples
        if s.metric == metric and all(dict(s.labels).get(k) == v for k, v in labels.items())
    }


def one(samples: list[Sample], metric: str, **labels: str) -> float:
    found = by_metric(samples, metric, **labels)
    assert len(found) == 1, (metric, labels, found)
    return next(iter(found.values()))


def flush_stats(conn: psycopg.Connection[Any]) -> None:
    """Make this session's statistics visible to others now (PG 15+), else wait for the flush."""
    if conn.info.server_version >= 150000:
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.execute("SELECT 1")  # the flush happens when the backend goes idle, before it answers
    else:
        time.sleep(1.2)


def collector_sessions(admin: psycopg.Connection[Any], db: str) -> int:
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'mcp-pulse'", (db,)
    ).fetchone()
    return int(row[0]) if row else 0


def sessions_after_close(admin: psycopg.Connection[Any], db: str, timeout_s: float = 5.0) -> int:
    """The collector's sessions once the server has seen its close (a backend exits a moment after
    the client hangs up, so pg_stat_activity may still list it right after ``close()``)."""
    deadline = time.monotonic() + timeout_s
    while (n := collector_sessions(admin, db)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return n


class Cluster(ThrowawayCluster):
    """A throwaway cluster this module can stop and start again (same data directory and port)."""

    def halt(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -F"
        opts += "".join(f" -c {k}={v}" for k, v in self.settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start")


def start_cluster(**settings: str) -> Cluster:
    cluster = None
    try:
        cluster = Cluster(settings=settings or None)
        cluster.start()
    except Exception as exc:
        if cluster is not None:
            cluster.stop()
        unavailable(f"throwaway cluster: {exc}")
    assert cluster is not None
    return cluster


# -- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(pg_server_url: str) -> str:
    return libpq_url(pg_server_url)


@pytest.fixture(scope="module")
def admin(server: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(with_db(server, "postgres"), autocommit=True) as conn:
        yield conn


@pytest.fixture
def fresh_db(server: str, admin: psycopg.Connection[Any]) -> Iterator[str]:
    """A new, empty database for one test (its statistics are its own); dropped after."""
    name = f"pulse_pgsrc_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def work(server: str, fresh_db: str) -> Iterator[psycopg.Connection[Any]]:
    """A session in the fresh database with a 1000-row table ``app.orders`` (primary key, no
    index on ``note``), autovacuum off so dead tuples stay until the test vacuums."""
    with psycopg.connect(with_db(server, fresh_db), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app")
        conn.execute(
            "CREATE TABLE app.orders (id int PRIMARY KEY, note text) WITH (autovacuum_enabled = off)"
        )
        conn.execute("INSERT INTO app.orders SELECT g, 'n' || g FROM generate_series(1, 1000) g")
        flush_stats(conn)  # before ANALYZE, whose estimate the late insert counts would add to
        conn.execute("ANALYZE app.orders")
        flush_stats(conn)
        yield conn


@pytest.fixture(scope="module")
def statements_cluster() -> Iterator[Cluster]:
    cluster = start_cluster(shared_preload_libraries="pg_stat_statements")
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/test", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
    yield cluster
    cluster.stop()


# -- real effects -----------------------------------------------------------------------------------
def test_seq_scans_index_scans_deletes_and_vacuum_show_up(
    server: str, fresh_db: str, work: psycopg.Connection[Any], admin: psycopg.Connection[Any]
) -> None:
    c = PostgresCollector(source(with_db(server, fresh_db), labels={"env": "test"}))
    try:
        before = c.collect()
        orders = {"schema": "app", "table": "orders"}
        assert one(before, "pg_up", database=fresh_db, source="pg", env="test") == 1.0
        assert one(before, "pg_table_live_tuples", **orders) == 1000
        assert one(before, "pg_table_size_bytes", **orders) > 0

        work.execute("SET enable_indexscan = off; SET enable_bitmapscan = off")
        for _ in range(3):
            work.execute("SELECT count(*) FROM app.orders WHERE note LIKE 'n1%'")
        work.execute("SET enable_indexscan = on; SET enable_seqscan = off")
        for i in range(5):
            work.execute("SELECT note FROM app.orders WHERE id = %s", (i + 1,))
        work.execute("DELETE FROM app.orders WHERE id <= 100")
        flush_stats(work)
        after = c.collect()

        def delta(metric: str, **labels: str) -> float:
            return one(after, metric, **labels) - one(before, metric, **labels)

        assert delta("pg_table_seq_scan_total", **orders) == 3
        assert delta("pg_table_seq_tup_read_total", **orders) == 3000
        assert delta("pg_table_idx_scan_total", **orders) >= 5  # the DELETE may use the index too
        assert delta("pg_index_scan_total", index="orders_pkey", **orders) >= 5
        assert one(after, "pg_index_unique", index="orders_pkey") == 1
        assert one(after, "pg_index_size_bytes", index="orders_pkey") > 0
        assert one(after, "pg_table_live_tuples", **orders) == 900
        assert one(after, "pg_table_dead_tuples", **orders) == 100
        assert delta("pg_table_tup_deleted_total", **orders) == 100
        assert delta("pg_database_tup_deleted_total") >= 100
        assert delta("pg_database_xact_commit_total") >= 9
        assert one(after, "pg_database_size_bytes") > 1_000_000
        assert by_metric(after, "pg_table_last_vacuum_timestamp_seconds") == {}  # never: no sample

        work.execute("VACUUM app.orders")
        flush_stats(work)
        vacuumed = c.collect()
        assert one(vacuumed, "pg_table_dead_tuples", **orders) == 0
        assert abs(one(vacuumed, "pg_table_last_vacuum_timestamp_seconds", **orders) - time.time()) < 60
        assert one(vacuumed, "pg_table_vacuum_total", **orders) == 1
        assert c.health.state == "up" and c.health.extra["partial_errors"] == {}
        assert collector_sessions(admin, fresh_db) == 1  # one kept connection, reused
    finally:
        c.close()
    assert sessions_after_close(admin, fresh_db) == 0


def test_statements_calls_and_times(statements_cluster: Cluster) -> None:
    dsn = f"postgresql://postgres@127.0.0.1:{statements_cluster.port}/test"
    n = 25
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
        for i in range(n):
            conn.execute("SELECT count(*) FROM generate_series(1, %s) AS pulse_probe", (1000 + i,))
    c = PostgresCollector(source(dsn, statements_limit=5))
    try:
        samples = c.collect()
    finally:
        c.close()
    assert one(samples, "pg_statements_available") == 1
    calls = by_metric(samples, "pg_statement_calls_total")
    assert 1 <= len(calls) <= 5  # statements_limit
    probe = [lab for lab in calls if "pulse_probe" in dict(lab)["query"]]
    assert len(probe) == 1, calls
    lab = dict(probe[0])
    assert lab["query"].startswith("SELECT count(*) FROM generate_series($1, $2)") or "$1" in lab["query"]
    assert len(lab["query"]) <= 120 and int(lab["queryid"]) != 0 and lab["database"] == "test"
    assert calls[probe[0]] >= n
    total = one(samples, "pg_statement_total_time_seconds_total", queryid=lab["queryid"])
    mean = one(samples, "pg_statement_mean_time_seconds", queryid=lab["queryid"])
    assert total > 0 and mean == pytest.approx(total / calls[probe[0]])
    assert one(samples, "pg_statement_rows_total", queryid=lab["queryid"]) >= n
    assert "statements" not in c.health.extra["notes"] and c.health.state == "up"


def test_no_extension_is_a_note_not_a_degraded_state(
    server: str, fresh_db: str, admin: psycopg.Connection[Any]
) -> None:
    c = PostgresCollector(source(with_db(server, fresh_db)))
    try:
        samples = c.collect()
        assert c.health.state == "up" and c.health.extra["partial_errors"] == {}
        assert "not installed" in c.health.extra["notes"]["statements"]
        assert one(samples, "pg_statements_available") == 0
        assert by_metric(samples, "pg_statement_calls_total") == {}

        # created but not preloaded (the local server has no shared_preload_libraries): still a note
        with psycopg.connect(with_db(server, fresh_db), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        preloaded = admin.execute("SHOW shared_preload_libraries").fetchone()
        samples = c.collect()
        assert c.health.state == "up" and c.health.extra["partial_errors"] == {}
        if preloaded and "pg_stat_statements" not in str(preloaded[0]):
            assert "shared_preload_libraries" in c.health.extra["notes"]["statements"]
            assert one(samples, "pg_statements_available") == 0
    finally:
        c.close()
    off = PostgresCollector(source(with_db(server, fresh_db), statements=False))
    try:
        off.collect()
        assert "statements = false" in off.health.extra["notes"]["statements"]
    finally:
        off.close()


def test_tables_limit_bounds_the_series(server: str, fresh_db: str) -> None:
    with psycopg.connect(with_db(server, fresh_db), autocommit=True) as conn:
        for i, rows in enumerate((10, 5000, 50, 20000, 1)):
            conn.execute(f"CREATE TABLE t{i} (id int PRIMARY KEY)")
            conn.execute(f"INSERT INTO t{i} SELECT generate_series(1, {rows})")
            conn.execute(f"ANALYZE t{i}")  # relpages: the order "largest first" uses
    c = PostgresCollector(source(with_db(server, fresh_db), tables_limit=2))
    try:
        samples = c.collect()
    finally:
        c.close()
    tables = {dict(lab)["table"] for lab in by_metric(samples, "pg_table_live_tuples")}
    assert tables == {"t3", "t1"}
    indexes = {dict(lab)["index"] for lab in by_metric(samples, "pg_index_size_bytes")}
    assert indexes == {"t3_pkey", "t1_pkey"}
    notes = c.health.extra["notes"]
    assert notes["tables"].startswith("2 of 5 tables") and notes["indexes"].startswith("2 of 5 indexes")


# -- faults -----------------------------------------------------------------------------------------
def test_wrong_port_names_host_port_with_a_hint_and_no_password(scheduled: Scheduled) -> None:
    port = _free_port()
    c = PostgresCollector(source(f"postgresql://postgres:{SECRET}@127.0.0.1:{port}/test", timeout_s=3))
    assert scheduled(c) == [] and isinstance(scheduled.error, CollectorError)
    text = str(scheduled.error)
    assert f"127.0.0.1:{port}" in text and "refused" in text.lower() and "check host and port" in text
    assert SECRET not in text and SECRET not in str(c.health.last_error)
    assert not c.health.ok and c.health.consecutive_failures == 1 and c.health.last_error == text


def test_wrong_database_is_named_with_a_hint(server: str) -> None:
    c = PostgresCollector(source(with_password(with_db(server, "no_such_db_pulse"))))
    with pytest.raises(CollectorError) as err:
        c.collect()
    text = str(err.value)
    assert "database 'no_such_db_pulse'" in text and "does not exist" in text and "psql -l" in text
    assert SECRET not in text


def test_malformed_dsn_never_echoes_the_password() -> None:
    c = PostgresCollector(source(f"host=127.0.0.1 password={SECRET} {SECRET}"))
    with pytest.raises(CollectorError) as err:
        c.collect()
    assert "not a valid libpq connection string" in str(err.value) and SECRET not in str(err.value)
    assert set(_secrets(f"postgresql://u:{SECRET}@h/db")) >= {SECRET}
    assert set(_secrets("postgresql://u:p%40ss@h/db")) >= {"p%40ss", "p@ss"}


def test_server_stops_then_comes_back(scheduled: Scheduled) -> None:
    cluster = start_cluster()
    dsn = with_password(f"postgresql://postgres@127.0.0.1:{cluster.port}/test")
    c = PostgresCollector(source(dsn, timeout_s=3))
    try:
        assert one(c.collect(), "pg_up") == 1
        # a restart between two collections: the kept connection is dead, one new try succeeds
        cluster.halt()
        cluster.resume()
        assert one(scheduled(c), "pg_up") == 1 and c.health.ok and c.health.state == "up"
        # down during a collection: a CollectorError naming host:port, then recovery
        cluster.halt()
        for failures in (1, 2):
            assert scheduled(c) == [] and isinstance(scheduled.error, CollectorError)
            err = str(scheduled.error)
            assert f"127.0.0.1:{cluster.port}" in err and SECRET not in err
            assert c.health.consecutive_failures == failures and c.health.last_error == err
        cluster.resume()
        assert one(scheduled(c), "pg_up") == 1
        assert c.health.ok and c.health.consecutive_failures == 0 and c.health.state == "up"
    finally:
        c.close()
        cluster.stop()


def test_statement_timeout_is_a_partial_error_naming_the_view(
    server: str, fresh_db: str, work: psycopg.Connection[Any]
) -> None:
    c = PostgresCollector(source(with_db(server, fresh_db), timeout_s=1))
    # a migration holds ACCESS EXCLUSIVE on the table: its size cannot be read until it commits
    with psycopg.connect(with_db(server, fresh_db)) as locker:
        locker.execute("LOCK TABLE app.orders IN ACCESS EXCLUSIVE MODE")
        try:
            t0 = time.perf_counter()
            samples = c.collect()
            took = time.perf_counter() - t0
        finally:
            locker.rollback()
        errors = c.health.extra["partial_errors"]
        assert (
            set(errors) == {"pg_stat_user_tables"}
            and "statement timeout of 1s" in errors["pg_stat_user_tables"]
        )
        assert c.health.state == "degraded" and 1 <= took < 5
        assert one(samples, "pg_up") == 1 and one(samples, "pg_database_numbackends") >= 1
        assert by_metric(samples, "pg_table_live_tuples") == {}
        assert one(samples, "pg_index_size_bytes", index="orders_pkey") > 0  # the index is not locked
    try:
        samples = c.collect()
        assert c.health.state == "up" and one(samples, "pg_table_live_tuples", table="orders") == 1000
    finally:
        c.close()


# -- units and the command line -------------------------------------------------------------------------
def test_query_label_collapses_whitespace_and_truncates() -> None:
    assert query_label("SELECT  a,\n\t b FROM t WHERE x = $1") == "SELECT a, b FROM t WHERE x = $1"
    long = query_label("SELECT " + ", ".join(f"col{i}" for i in range(100)) + " FROM t")
    assert len(long) == 120 and long.endswith("…")
    assert query_label(None) == ""


def test_cli_sources_test_prints_ok_and_never_the_dsn(
    server: str,
    fresh_db: str,
    work: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from core.cli import main

    for key in list(os.environ):
        if key.startswith("PULSE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    port = _free_port()
    good = with_password(with_db(server, fresh_db))
    sources = [
        {"kind": "postgres", "name": "pg", "dsn": good, "labels": {"env": "ci"}},
        {"kind": "postgres", "name": "down", "dsn": f"postgresql://postgres:{SECRET}@127.0.0.1:{port}/x"},
        {"kind": "postgres", "name": "bad", "dsn": f"host=127.0.0.1 password={SECRET} junk"},
    ]
    monkeypatch.setenv("PULSE_SOURCES", json.dumps(sources))

    assert main(["sources", "list"]) == 0
    out, err = capsys.readouterr()
    assert "PostgreSQL (dsn hidden)" in out and SECRET not in out + err

    assert main(["sources", "test", "pg"]) == 0
    out, err = capsys.readouterr()
    assert "pg (postgres): OK in " in out and "pg_up{" in out and f'database="{fresh_db}"' in out
    assert SECRET not in out + err

    assert main(["sources", "test", "down"]) == 1
    out, err = capsys.readouterr()
    assert "down (postgres): FAILED" in out and f"127.0.0.1:{port}" in out and "check host and port" in out
    assert SECRET not in out + err

    assert main(["sources", "test", "bad"]) == 1
    out, err = capsys.readouterr()
    assert "not a valid libpq connection string" in out and SECRET not in out + err
