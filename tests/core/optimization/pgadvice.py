"""A throwaway PostgreSQL cluster with pg_stat_statements preloaded and HypoPG installed, and a
table made slow on purpose (no index on the columns its statements filter and sort on)."""

from __future__ import annotations

import glob
import statistics
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.conftest import ThrowawayCluster, unavailable

EVENTS_ROWS = 200_000
USERS = 5_000
SLOW = "SELECT * FROM app.events WHERE user_id = %s ORDER BY created_at DESC LIMIT 10"
BY_PK = "SELECT name FROM app.users WHERE id = %s"


def require_hypopg() -> None:
    if not glob.glob("/usr/share/postgresql/*/extension/hypopg.control"):
        unavailable("HypoPG is not installed (Debian: apt-get install postgresql-15-hypopg)")


@pytest.fixture(scope="module")
def advice_cluster() -> Iterator[str]:
    """libpq URL of database ``test`` in a fresh cluster: pg_stat_statements, hypopg, app.events."""
    require_hypopg()
    cluster = ThrowawayCluster({"shared_preload_libraries": "pg_stat_statements"})
    try:
        cluster.start()
    except Exception as exc:
        cluster.stop()
        unavailable(f"throwaway cluster: {exc}")
    url = f"postgresql://postgres@127.0.0.1:{cluster.port}/test"
    try:
        setup_database(url)
        yield url
    finally:
        cluster.stop()


def setup_database(url: str) -> None:
    """The extensions, app.users (primary key) and app.events (no index but its primary key)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for stmt in (
            "CREATE EXTENSION pg_stat_statements",
            "CREATE EXTENSION hypopg",
            "CREATE SCHEMA app",
            "CREATE TABLE app.users (id int PRIMARY KEY, name text, team text)",
            "CREATE TABLE app.events (id bigserial PRIMARY KEY, user_id int, kind text,"
            " created_at timestamptz, payload text)",
            f"INSERT INTO app.users SELECT g, 'u' || g, 't' || (g % 7) FROM generate_series(1, {USERS}) g",
            "INSERT INTO app.events (user_id, kind, created_at, payload)"
            f" SELECT 1 + (g * 7919) % {USERS}, (ARRAY['a', 'b', 'c'])[1 + g % 3],"
            " timestamptz '2026-01-01' + g * interval '1 second', repeat('x', 60)"
            f" FROM generate_series(1, {EVENTS_ROWS}) g",
            "VACUUM ANALYZE app.users",
            "VACUUM ANALYZE app.events",
            "SELECT pg_stat_statements_reset()",
        ):
            conn.execute(stmt)


def run_workload(url: str, calls: int = 30) -> None:
    """The slow statement and a fast primary-key lookup, ``calls`` times each with varying values."""
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(calls):
            conn.execute(SLOW, (1 + i * 37,)).fetchall()
            conn.execute(BY_PK, (1 + i,)).fetchall()


def analyze_ms(
    conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...], runs: int = 7
) -> tuple[float, int]:
    """Median execution time (ms) of EXPLAIN ANALYZE and the shared buffers the plan touched."""
    times, buffers = [], 0
    for i in range(runs):
        row = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query, params).fetchone()
        assert row is not None
        plan = row[0][0]
        times.append(float(plan["Execution Time"]))
        if i == 0:
            buffers = int(plan["Plan"].get("Shared Hit Blocks", 0)) + int(
                plan["Plan"].get("Shared Read Blocks", 0)
            )
    return statistics.median(times), buffers
