"""The SQL the ``postgres`` collector runs against a *watched* database, and how rows become samples.

This is the collector's query language (as PromQL is for ``collectors/prometheus.py``); Pulse's own
store keeps its SQL in ``core/storage/``. Every query is read-only, reads statistics views only, and
is bounded: tables and indexes by ``tables_limit`` (largest first, by ``pg_class.relpages``, so the
set is stable between collections), statements by ``statements_limit`` (top total execution time).
Sizes are computed only for the rows kept, since ``pg_table_size`` takes a lock per relation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from psycopg import sql

Row = Mapping[str, Any]
QUERY_LABEL_CHARS = 120

DATABASE_SQL = """
SELECT d.numbackends, d.xact_commit, d.xact_rollback, d.blks_read, d.blks_hit,
       d.tup_returned, d.tup_fetched, d.tup_inserted, d.tup_updated, d.tup_deleted,
       d.conflicts, d.temp_files, d.temp_bytes, d.deadlocks, d.blk_read_time, d.blk_write_time,
       extract(epoch FROM d.stats_reset)::float8 AS stats_reset,
       pg_database_size(d.datid) AS size_bytes,
       current_setting('server_version_num')::int AS server_version_num
FROM pg_stat_database d
WHERE d.datname = current_database()
"""

TABLES_SQL = """
SELECT t.schemaname, t.relname, t.seq_scan, t.seq_tup_read, t.idx_scan, t.idx_tup_fetch,
       t.n_tup_ins, t.n_tup_upd, t.n_tup_del, t.n_tup_hot_upd, t.n_live_tup, t.n_dead_tup,
       t.n_mod_since_analyze,
       extract(epoch FROM t.last_vacuum)::float8 AS last_vacuum,
       extract(epoch FROM t.last_autovacuum)::float8 AS last_autovacuum,
       extract(epoch FROM t.last_analyze)::float8 AS last_analyze,
       extract(epoch FROM t.last_autoanalyze)::float8 AS last_autoanalyze,
       t.vacuum_count, t.autovacuum_count, t.analyze_count, t.autoanalyze_count,
       pg_table_size(t.relid) AS size_bytes, t.total
FROM (
    SELECT s.*, (SELECT count(*) FROM pg_stat_user_tables) AS total
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    ORDER BY c.relpages DESC, s.n_live_tup + s.n_dead_tup DESC, s.schemaname, s.relname
    LIMIT %(limit)s
) t
"""

INDEXES_SQL = """
SELECT i.schemaname, i.relname, i.indexrelname, i.idx_scan, i.idx_tup_read, i.idx_tup_fetch,
       i.indisunique, pg_relation_size(i.indexrelid) AS size_bytes, i.total
FROM (
    SELECT s.*, x.indisunique, (SELECT count(*) FROM pg_stat_user_indexes) AS total
    FROM pg_stat_user_indexes s
    JOIN pg_class c ON c.oid = s.indexrelid
    JOIN pg_index x ON x.indexrelid = s.indexrelid
    ORDER BY c.relpages DESC, s.idx_scan DESC, s.schemaname, s.relname, s.indexrelname
    LIMIT %(limit)s
) i
"""

STATEMENTS_EXTENSION_SQL = """
SELECT e.extversion, n.nspname
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'
"""

# Rows are per (user, database, query id, top level): summed per query id of this database.
_STATEMENTS = """
SELECT s.queryid, min(s.query) AS query, sum(s.calls) AS calls,
       sum(s.{total}) AS total_ms, sum(s.rows) AS rows
FROM {{schema}}.pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.queryid IS NOT NULL
GROUP BY s.queryid
ORDER BY total_ms DESC, s.queryid
LIMIT %(limit)s
"""


def statements_sql(extversion: str, schema: str) -> sql.Composed:
    """pg_stat_statements 1.8 (PostgreSQL 13) renamed total_time to total_exec_time."""
    total = "total_exec_time" if version_tuple(extversion) >= (1, 8) else "total_time"
    return sql.SQL(_STATEMENTS.format(total=total)).format(schema=sql.Identifier(schema))


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


@dataclass(frozen=True)
class Metric:
    """One column of a row -> one sample of ``name`` (value times ``scale``; NULL gives none)."""

    column: str
    name: str
    scale: float = 1.0


DATABASE_METRICS = (
    Metric("numbackends", "pg_database_numbackends"),
    Metric("xact_commit", "pg_database_xact_commit_total"),
    Metric("xact_rollback", "pg_database_xact_rollback_total"),
    Metric("blks_read", "pg_database_blks_read_total"),
    Metric("blks_hit", "pg_database_blks_hit_total"),
    Metric("tup_returned", "pg_database_tup_returned_total"),
    Metric("tup_fetched", "pg_database_tup_fetched_total"),
    Metric("tup_inserted", "pg_database_tup_inserted_total"),
    Metric("tup_updated", "pg_database_tup_updated_total"),
    Metric("tup_deleted", "pg_database_tup_deleted_total"),
    Metric("conflicts", "pg_database_conflicts_total"),
    Metric("temp_files", "pg_database_temp_files_total"),
    Metric("temp_bytes", "pg_database_temp_bytes_total"),
    Metric("deadlocks", "pg_database_deadlocks_total"),
    Metric("blk_read_time", "pg_database_blk_read_time_seconds_total", 0.001),
    Metric("blk_write_time", "pg_database_blk_write_time_seconds_total", 0.001),
    Metric("stats_reset", "pg_database_stats_reset_timestamp_seconds"),
    Metric("size_bytes", "pg_database_size_bytes"),
    Metric("server_version_num", "pg_server_version_num"),
)

TABLE_METRICS = (
    Metric("seq_scan", "pg_table_seq_scan_total"),
    Metric("seq_tup_read", "pg_table_seq_tup_read_total"),
    Metric("idx_scan", "pg_table_idx_scan_total"),
    Metric("idx_tup_fetch", "pg_table_idx_tup_fetch_total"),
    Metric("n_tup_ins", "pg_table_tup_inserted_total"),
    Metric("n_tup_upd", "pg_table_tup_updated_total"),
    Metric("n_tup_del", "pg_table_tup_deleted_total"),
    Metric("n_tup_hot_upd", "pg_table_tup_hot_updated_total"),
    Metric("n_live_tup", "pg_table_live_tuples"),
    Metric("n_dead_tup", "pg_table_dead_tuples"),
    Metric("n_mod_since_analyze", "pg_table_modified_since_analyze_tuples"),
    Metric("size_bytes", "pg_table_size_bytes"),
    Metric("last_vacuum", "pg_table_last_vacuum_timestamp_seconds"),
    Metric("last_autovacuum", "pg_table_last_autovacuum_timestamp_seconds"),
    Metric("last_analyze", "pg_table_last_analyze_timestamp_seconds"),
    Metric("last_autoanalyze", "pg_table_last_autoanalyze_timestamp_seconds"),
    Metric("vacuum_count", "pg_table_vacuum_total"),
    Metric("autovacuum_count", "pg_table_autovacuum_total"),
    Metric("analyze_count", "pg_table_analyze_total"),
    Metric("autoanalyze_count", "pg_table_autoanalyze_total"),
)

INDEX_METRICS = (
    Metric("idx_scan", "pg_index_scan_total"),
    Metric("idx_tup_read", "pg_index_tup_read_total"),
    Metric("idx_tup_fetch", "pg_index_tup_fetch_total"),
    Metric("size_bytes", "pg_index_size_bytes"),
    Metric("indisunique", "pg_index_unique"),
)

STATEMENT_METRICS = (
    Metric("calls", "pg_statement_calls_total"),
    Metric("total_ms", "pg_statement_total_time_seconds_total", 0.001),
    Metric("mean_ms", "pg_statement_mean_time_seconds", 0.001),
    Metric("rows", "pg_statement_rows_total"),
)


def values(row: Row, metrics: Iterable[Metric]) -> list[tuple[str, float]]:
    """(metric, value) of each non-NULL column; booleans as 0/1, milliseconds scaled to seconds."""
    out = []
    for m in metrics:
        v = row.get(m.column)
        if v is not None:
            out.append((m.name, float(v) * m.scale if m.scale != 1.0 else float(v)))
    return out


def with_mean(row: Row) -> dict[str, Any]:
    """A statement row plus its mean execution time in ms (total / calls, over every user)."""
    calls = row.get("calls") or 0
    total = row.get("total_ms")
    return {**row, "mean_ms": (float(total) / float(calls)) if calls and total is not None else None}


def query_label(text: str | None, limit: int = QUERY_LABEL_CHARS) -> str:
    """The normalised query text (already with $n placeholders): whitespace collapsed, truncated."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
