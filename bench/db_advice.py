"""Database index advice on a throwaway PostgreSQL cluster (pg_stat_statements, HypoPG): how long
the advice takes, the planner's cost before and after the recommended index, and the measured
statement time and buffers before and after really creating it (EXPLAIN ANALYZE, median of 7).
Opt-in (`python -m bench db-advice`): it starts its own cluster."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from bench.common import Row
from collectors.postgres_planner import PostgresPlanner
from core.optimization.index_advice import advise
from tests.conftest import ThrowawayCluster
from tests.core.optimization.pgadvice import SLOW, analyze_ms, run_workload, setup_database


def run(tmp: Path) -> list[Row]:
    cluster = ThrowawayCluster({"shared_preload_libraries": "pg_stat_statements"})
    try:
        cluster.start()
        url = f"postgresql://postgres@127.0.0.1:{cluster.port}/test"
        setup_database(url)
        run_workload(url, calls=30)
        t0 = time.perf_counter()
        with PostgresPlanner(url) as planner:
            found = advise(planner)
        took = time.perf_counter() - t0
        best = next(a for a in found if a.recommended)
        with psycopg.connect(url, autocommit=True) as conn:
            before_ms, before_buf = analyze_ms(conn, SLOW, (42,))
            conn.execute(best.ddl)
            conn.execute("ANALYZE app.events")
            after_ms, after_buf = analyze_ms(conn, SLOW, (42,))
    finally:
        cluster.stop()
    cut = best.cost_cut or 0.0
    return [
        Row("db-advice: advice for the slow statements", f"{took:.2f} s", f"{best.tried} candidates checked"),
        Row(
            "db-advice: planner cost, before -> after (HypoPG)",
            f"{best.cost_before:.0f} -> {best.cost_after:.1f}",
            f"cut {cut:.1%}",
            ">= 50 %",
            "ok" if cut >= 0.5 else "MISSED",
        ),
        Row(
            "db-advice: measured statement time, before -> after (index created)",
            f"{before_ms:.2f} ms -> {after_ms:.3f} ms",
            f"{before_ms / max(after_ms, 1e-6):.0f}x faster; buffers {before_buf} -> {after_buf}",
            "falls",
            "ok" if after_ms < before_ms else "MISSED",
        ),
    ]
