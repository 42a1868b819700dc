"""Measured before/after of an applied index on a real PostgreSQL (throwaway cluster with
pg_stat_statements and HypoPG): the postgres source collects the statement's counters a minute
apart (a simulated clock, the counters real), the advised index is really created and marked
applied through the seam, and the statement's mean time per call is ``improved`` while its calls
per minute show ``no change``."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from collectors.postgres import PostgresCollector
from collectors.postgres_planner import PostgresPlanner
from core.access.policy import Principal, Role
from core.kernel.settings import load_settings
from core.kernel.settings.sources.postgres import PostgresSource
from core.optimization.database import database_frame
from core.optimization.impact import ImpactSettings
from core.optimization.index_advice import IndexAdviceSettings
from core.optimization.lifecycle import database_subject, with_states
from core.seam import Console
from core.storage.tsdb import open_store
from tests.core.optimization.pgadvice import advice_cluster, run_workload

pytestmark = pytest.mark.postgres
__all__ = ["advice_cluster"]
MIN = 60_000
T0 = 1_790_000_000_000 - 1_790_000_000_000 % MIN


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


def test_an_applied_index_shows_the_measured_gain(advice_cluster: str, tmp_path: Path) -> None:
    clock = Clock(T0)
    store = open_store(
        load_settings(database_url=f"sqlite:///{tmp_path}/p.db", data_dir=tmp_path), clock=clock
    )
    source = PostgresCollector(PostgresSource(name="app-db", dsn=advice_cluster), clock=clock)
    admin = Console(store.settings, store, Principal("root", Role.ADMIN)).recommendations

    def minute(k: int) -> None:  # the workload of minute k, then a collection at its end
        run_workload(advice_cluster, calls=5)
        clock.ms = T0 + k * MIN
        store.write(source.collect())

    minute(0)  # the baseline: the statement is in pg_stat_statements from T0 on
    for k in range(1, 9):
        minute(k)
    with PostgresPlanner(advice_cluster) as planner:
        rows = database_frame(planner, IndexAdviceSettings(min_mean_ms=0))
    advice = rows.filter(rows["status"] == "ok").row(0, named=True)
    subject = database_subject(advice["queryid"], advice["ddl"])
    with psycopg.connect(advice_cluster, autocommit=True) as conn:
        conn.execute(advice["ddl"])  # CREATE INDEX CONCURRENTLY, as advised
        conn.execute("ANALYZE app.events")
    clock.ms = T0 + 8 * MIN + MIN // 2
    event = admin.mark("database", subject, "applied", "created on the advice")
    listed = with_states("database", rows, admin.states()).filter(rows["status"] == "ok")
    assert listed.row(0, named=True)["key"] == event.key and listed["state"][0] == "applied"
    for k in range(9, 18):  # the last one ends the window after: 8 whole minutes each side
        minute(k)
    store.run_rollups()
    got = {r["metric"]: r for r in admin.impact(event.key, ImpactSettings(step_s=60)).to_dicts()}
    mean, calls = got["statement_mean_ms"], got["calls"]
    print(f"measured mean per call: {mean['before']:.3f} ms -> {mean['after']:.3f} ms")
    assert mean["verdict"] == "improved" and mean["after"] * 5 < mean["before"]
    assert (mean["buckets_before"], mean["buckets_after"]) == (8, 8)
    assert calls["verdict"] == "no change" and calls["before"] == calls["after"] == 5
    store.close()


def test_too_early_after_the_index_gives_no_verdict(advice_cluster: str, tmp_path: Path) -> None:
    clock = Clock(T0 + 3 * MIN)
    store = open_store(
        load_settings(database_url=f"sqlite:///{tmp_path}/p.db", data_dir=tmp_path), clock=clock
    )
    admin = Console(store.settings, store, Principal("root", Role.ADMIN)).recommendations
    event = admin.mark("database", database_subject("42", 'CREATE INDEX ON "app"."t" ("a")'), "applied")
    clock.ms += 3 * MIN
    assert admin.impact(event.key, ImpactSettings(step_s=60)).is_empty()
    store.close()
