"""The database advisor's reads of a *watched* PostgreSQL database: slow statements, the tables they
read, and the planner's cost of a statement with and without a hypothetical index (HypoPG).

Nothing here writes: every statement runs in a read-only transaction that is rolled back, costs come
from ``EXPLAIN`` (never ``ANALYZE``) of a generic plan (``plan_cache_mode = force_generic_plan``, so
the ``$n`` placeholders of pg_stat_statements need no values), and hypothetical indexes live only in
this session's memory (``hypopg_reset()`` after each check). One connection per planner, with
``connect_timeout`` and ``statement_timeout`` set; the dsn and its password never appear in a message.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from collectors import postgres_queries as q
from collectors.postgres import APPLICATION_NAME, _first_lines, _secrets
from core.kernel.errors import CollectorError
from core.kernel.pgadvice import ExistingIndex, PlanCost, Statement, TableStats

PREPARED = "pulse_advice"

TABLE_SQL = """
SELECT n.nspname AS schema, c.relname AS name, c.reltuples::bigint AS live_rows,
       pg_table_size(c.oid) AS size_bytes,
       coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0) AS writes, coalesce(s.seq_scan, 0) AS seq_scans,
       coalesce(s.n_dead_tup, 0) AS dead_rows, coalesce(s.idx_scan, 0) AS idx_scans,
       coalesce(s.seq_tup_read, 0) AS seq_rows_read,
       (SELECT json_object_agg(a.attname, format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.oid = to_regclass(%(name)s) AND c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND left(n.nspname, 8) <> 'pg_toast'
"""

INDEXES_SQL = """
SELECT i.relname AS name, x.indisunique AS unique, x.indisvalid AS valid, x.indpred IS NOT NULL AS partial,
       pg_relation_size(i.oid) AS size_bytes, coalesce(s.idx_scan, 0) AS scans,
       array(SELECT coalesce(a.attname, '') FROM unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY k(n, o)
             LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n ORDER BY k.o) AS columns
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = x.indexrelid
WHERE x.indrelid = to_regclass(%(name)s)
ORDER BY i.relname
"""

TABLE_NAMES_SQL = """
SELECT format('%%I.%%I', schemaname, relname) AS name FROM pg_stat_user_tables
ORDER BY pg_table_size(relid) DESC, schemaname, relname LIMIT %(limit)s
"""


class PostgresPlanner:
    """Reads and plans on one watched database (use as a context manager, or call close())."""

    def __init__(
        self,
        dsn: str,
        *,
        timeout_s: float = 10.0,
        connect: Callable[..., psycopg.Connection[Any]] = psycopg.connect,
    ) -> None:
        self._dsn = dsn.strip()
        self._secrets = _secrets(self._dsn)
        try:
            params = conninfo_to_dict(self._dsn)
        except psycopg.Error as exc:
            raise CollectorError(
                f"database advice: the dsn is not a valid libpq string or URL ({self._safe(exc)})"
            ) from None
        params.setdefault("connect_timeout", max(2, math.ceil(timeout_s)))
        params.setdefault("application_name", APPLICATION_NAME + "-advice")
        self.where = f"{params.get('host') or 'local socket'}:{params.get('port') or 5432}/{params.get('dbname') or ''}"
        try:
            self._conn = connect(make_conninfo("", **params), autocommit=True, row_factory=dict_row)
            self._conn.execute(
                "SELECT set_config('statement_timeout', %s, false)", (str(int(timeout_s * 1000)),)
            )
        except psycopg.Error as exc:
            raise CollectorError(
                f"database advice: cannot connect to {self.where}: {self._safe(exc)}"
            ) from None

    def _safe(self, exc: BaseException) -> str:
        text = _first_lines(exc)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        with suppress(Exception):
            self._conn.close()

    def __enter__(self) -> PostgresPlanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what is there ------------------------------------------------------------------------------
    def missing(self) -> str | None:
        """None when pg_stat_statements and HypoPG are usable here, else what to do."""
        found = {r["extname"] for r in self._conn.execute("SELECT extname FROM pg_extension").fetchall()}
        for ext, how in (
            (
                "pg_stat_statements",
                "add it to shared_preload_libraries, restart, and run CREATE EXTENSION pg_stat_statements",
            ),
            ("hypopg", "install it (Debian: postgresql-15-hypopg) and run CREATE EXTENSION hypopg"),
        ):
            if ext not in found:
                return f"{ext} is not installed in {self.where}: {how}"
        return None

    def statements(self, limit: int) -> list[Statement]:
        ext = self._conn.execute(q.STATEMENTS_EXTENSION_SQL).fetchone()
        if ext is None:
            return []
        rows = self._conn.execute(
            q.statements_sql(ext["extversion"], ext["nspname"]), {"limit": limit}
        ).fetchall()
        out = []
        for r in rows:
            calls = int(r["calls"] or 0)
            total = float(r["total_ms"] or 0.0)
            mean = total / calls if calls else 0.0
            out.append(Statement(int(r["queryid"]), str(r["query"]), calls, total, mean, int(r["rows"] or 0)))
        return out

    def table(self, name: str) -> TableStats | None:
        """The table ``name`` (quoted, maybe schema-qualified) as the search path resolves it."""
        row = self._conn.execute(TABLE_SQL, {"name": name}).fetchone()
        if row is None:
            return None
        indexes = tuple(
            ExistingIndex(
                r["name"],
                tuple(r["columns"]),
                int(r["size_bytes"]),
                int(r["scans"]),
                r["unique"],
                r["valid"],
                r["partial"],
            )
            for r in self._conn.execute(INDEXES_SQL, {"name": name}).fetchall()
        )
        return TableStats(
            row["schema"],
            row["name"],
            dict(row["columns"] or {}),
            max(0, int(row["live_rows"])),
            int(row["writes"]),
            int(row["seq_scans"]),
            int(row["size_bytes"]),
            indexes,
            int(row["dead_rows"]),
            int(row["idx_scans"]),
            int(row["seq_rows_read"]),
        )

    def tables(self, limit: int) -> list[TableStats]:
        """The ``limit`` largest user tables, each with its indexes and statistics."""
        names = [r["name"] for r in self._conn.execute(TABLE_NAMES_SQL, {"limit": limit}).fetchall()]
        return [t for t in (self.table(n) for n in names) if t is not None]

    # -- the planner ------------------------------------------------------------------------------
    def cost(self, query: str, index_ddl: str | None = None) -> PlanCost:
        """The generic plan's total cost of ``query``, with the hypothetical index ``index_ddl``
        (``CREATE INDEX ON schema.table (cols)``) when given."""
        with self._planning():
            size = None
            if index_ddl is not None:
                row = self._conn.execute(
                    "SELECT indexrelid FROM hypopg_create_index(%s)", (index_ddl,)
                ).fetchone()
                if row is None:
                    raise CollectorError(f"database advice: HypoPG did not create {index_ddl}")
                got = self._conn.execute(
                    "SELECT hypopg_relation_size(%s) AS s", (row["indexrelid"],)
                ).fetchone()
                size = int(got["s"]) if got else None
            self._conn.execute(sql.SQL("PREPARE {} AS ").format(sql.Identifier(PREPARED)) + sql.SQL(query))
            types = self._conn.execute(
                "SELECT cardinality(parameter_types) AS n FROM pg_prepared_statements WHERE name = %s",
                (PREPARED,),
            ).fetchone()
            n = int(types["n"]) if types else 0
            args = sql.SQL("({})").format(sql.SQL(", ").join([sql.NULL] * n)) if n else sql.SQL("")
            plan = self._conn.execute(
                sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE {}{}").format(sql.Identifier(PREPARED), args)
            ).fetchone()
        top = _plan_json(plan)["Plan"]
        return PlanCost(float(top["Total Cost"]), tuple(_index_names(top)), size)

    @contextmanager
    def _planning(self) -> Iterator[None]:
        try:
            with self._conn.transaction(force_rollback=True):
                self._conn.execute("SET TRANSACTION READ ONLY")
                self._conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                yield
        except psycopg.Error as exc:
            raise CollectorError(
                f"database advice: planning failed on {self.where}: {self._safe(exc)}"
            ) from None
        finally:  # outside the (maybe aborted) transaction: neither is transactional
            for cleanup in (
                sql.SQL("DEALLOCATE {}").format(sql.Identifier(PREPARED)),
                sql.SQL("SELECT hypopg_reset()"),
            ):
                with suppress(psycopg.Error):
                    self._conn.execute(cleanup)


def _plan_json(row: Any) -> dict[str, Any]:
    value = next(iter(row.values())) if isinstance(row, dict) else row[0]
    return dict(value[0])


def _index_names(node: dict[str, Any]) -> Iterator[str]:
    if "Index Name" in node:
        yield str(node["Index Name"])
    for child in node.get("Plans", ()):
        yield from _index_names(child)
