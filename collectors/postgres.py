"""Statistics of one PostgreSQL database: pg_stat_database, pg_stat_user_tables, pg_stat_user_indexes
and, when the extension is there, pg_stat_statements.

One connection per source is kept between collections (autocommit, so every statistics read sees
fresh numbers; read-only; ``statement_timeout`` = the source's ``timeout_s``). A connection found
broken (server restart, idle timeout) is replaced once within the same collection; a server that
cannot be reached raises :class:`CollectorError` naming host:port with a hint. Each view is read on
its own: one that fails or times out is named in ``health.extra["partial_errors"]`` and the others
are kept. No pg_stat_statements (not installed, not preloaded, or turned off) is a note in
``health.extra["notes"]`` and ``pg_statements_available 0``, not a degraded state. The dsn and its
password never appear in an error message.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from collectors import postgres_queries as q
from collectors.base import SourceCollector
from core.kernel.errors import CollectorError
from core.kernel.samples import Labels, Sample, labels_of
from core.kernel.settings.sources.postgres import PostgresSource

Connect = Callable[..., psycopg.Connection[Any]]
Triples = list[tuple[str, Labels, float]]
APPLICATION_NAME = "mcp-pulse"
_HINTS = (
    ("does not exist", "check the database (or user) name in the dsn; `psql -l` lists the databases"),
    ("password authentication failed", "check the user and password of the dsn"),
    ("no password supplied", "the server asks for a password: add it to the dsn (or use a .pgpass file)"),
    ("no pg_hba.conf entry", "allow this client in the server's pg_hba.conf"),
    (
        "connection refused",
        "is PostgreSQL running there and listening on TCP? check host and port in the dsn",
    ),
    ("timeout expired", "no answer in time: check the host, the firewall and the source's timeout_s"),
    ("could not translate host name", "check the host name in the dsn"),
    ("too many connections", "the server is at max_connections; retry later or raise the limit"),
    ("ssl", "check the dsn's sslmode and the server's TLS settings"),
)


class _ConnectionLost(Exception):
    """The kept connection broke while reading a view."""


def _secrets(dsn: str) -> list[str]:
    """Every spelling of the password in ``dsn`` (raw and decoded), longest first."""
    found = re.findall(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn, flags=re.IGNORECASE)
    found += re.findall(r"://[^/@:]*:([^@/]+)@", dsn)
    with suppress(Exception):
        if pw := conninfo_to_dict(dsn).get("password"):
            found.append(str(pw))
    return sorted({s.strip("'") for s in found if s.strip("'")} | {dsn}, key=len, reverse=True)


def _first_lines(exc: BaseException, limit: int = 400) -> str:
    """The driver's message on one line, without libpq's generic "Is the server running" advice."""
    lines = [ln.strip() for ln in str(exc).splitlines() if not ln.strip().startswith("Is the server running")]
    text = " ".join(" ".join(lines).split()).removeprefix("connection failed: ") or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


class PostgresCollector(SourceCollector[PostgresSource]):
    """The ``postgres`` source kind: samples of one database's statistics views."""

    def __init__(
        self,
        cfg: PostgresSource,
        *,
        connect: Connect = psycopg.connect,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(cfg)
        self._connect, self._clock = connect, clock
        self._conn: psycopg.Connection[Any] | None = None
        self._database = ""  # current_database() of the connection: the ``database`` label
        self._dsn = cfg.dsn.get_secret_value().strip()
        self._secrets = _secrets(self._dsn)
        self._where = self._describe_target()

    # -- connection ---------------------------------------------------------------------------
    def _describe_target(self) -> str:
        try:
            params = conninfo_to_dict(self._dsn)
        except Exception:
            return "the server of the dsn"
        host = str(params.get("host") or params.get("hostaddr") or "the local socket")
        port = str(params.get("port") or "5432")
        where = f"{host}:{port}" if not host.startswith("/") else f"{host} (socket, port {port})"
        db, user = params.get("dbname"), params.get("user")
        return where + "".join(f", {k} {v!r}" for k, v in (("database", db), ("user", user)) if v)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _fail(self, what: str, exc: BaseException) -> CollectorError:
        reason = self._redact(_first_lines(exc))
        hint = next(
            (h for key, h in _HINTS if key in reason.lower()), "check the dsn and that the server is up"
        )
        return CollectorError(f"postgres source {self.name!r}: {what} {self._where}: {reason}; {hint}")

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        self.close()
        try:
            params = conninfo_to_dict(self._dsn)
        except psycopg.Error as exc:
            raise CollectorError(
                f"postgres source {self.name!r}: the dsn is not a valid libpq connection string or "
                f"postgresql:// URL ({self._redact(_first_lines(exc))})"
            ) from None
        params.setdefault("connect_timeout", max(2, math.ceil(self.cfg.timeout_s)))
        params.setdefault("application_name", APPLICATION_NAME)
        try:
            conn = self._connect(make_conninfo("", **params), autocommit=True, row_factory=dict_row)
        except psycopg.Error as exc:
            raise self._fail("cannot connect to", exc) from None
        try:
            ms = str(max(1, int(self.cfg.timeout_s * 1000)))
            row = conn.execute(
                "SELECT current_database() AS db, set_config('statement_timeout', %s, false),"
                " set_config('default_transaction_read_only', 'on', false)",
                (ms,),
            ).fetchone()
            self._database = str(row["db"]) if row else ""
        except psycopg.Error as exc:
            with suppress(Exception):
                conn.close()
            raise self._fail("cannot set up the session on", exc) from None
        self._conn = conn
        return conn

    def close(self) -> None:
        """Close the kept connection (the next collect() opens a new one)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):
                conn.close()

    def __del__(self) -> None:
        with suppress(Exception):
            self.close()

    def _rows(self, view: str, query: Any, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        conn = self._connection()
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return list(cur.fetchall())
        except psycopg.Error as exc:
            if conn.broken or conn.closed:
                raise _ConnectionLost(view) from exc
            raise

    # -- the views ------------------------------------------------------------------------------
    def _database_stats(self, base: dict[str, str]) -> Triples:
        rows = self._rows("pg_stat_database", q.DATABASE_SQL)
        labels = labels_of(**base)
        out: Triples = [(m, labels, v) for row in rows for m, v in q.values(row, q.DATABASE_METRICS)]
        return out

    def _tables(self, base: dict[str, str], notes: dict[str, str]) -> Triples:
        rows = self._rows("pg_stat_user_tables", q.TABLES_SQL, {"limit": self.cfg.tables_limit})
        out: Triples = []
        for row in rows:
            labels = labels_of(**base, schema=row["schemaname"], table=row["relname"])
            out += [(m, labels, v) for m, v in q.values(row, q.TABLE_METRICS)]
        if rows and rows[0]["total"] > len(rows):
            notes["tables"] = f"{len(rows)} of {rows[0]['total']} tables kept (tables_limit, largest first)"
        return out

    def _indexes(self, base: dict[str, str], notes: dict[str, str]) -> Triples:
        rows = self._rows("pg_stat_user_indexes", q.INDEXES_SQL, {"limit": self.cfg.tables_limit})
        out: Triples = []
        for row in rows:
            lab = labels_of(**base, schema=row["schemaname"], table=row["relname"], index=row["indexrelname"])
            out += [(m, lab, v) for m, v in q.values(row, q.INDEX_METRICS)]
        if rows and rows[0]["total"] > len(rows):
            notes["indexes"] = f"{len(rows)} of {rows[0]['total']} indexes kept (tables_limit, largest first)"
        return out

    def _statements(self, base: dict[str, str], notes: dict[str, str]) -> Triples:
        available = labels_of(**base)
        if not self.cfg.statements:
            notes["statements"] = "pg_stat_statements not read (statements = false)"
            return [("pg_statements_available", available, 0.0)]
        found = self._rows("pg_stat_statements", q.STATEMENTS_EXTENSION_SQL)
        if not found:
            notes["statements"] = (
                f"pg_stat_statements is not installed in database {base['database']!r}: "
                "add it to shared_preload_libraries and run CREATE EXTENSION pg_stat_statements"
            )
            return [("pg_statements_available", available, 0.0)]
        query = q.statements_sql(found[0]["extversion"], found[0]["nspname"])
        try:
            rows = self._rows("pg_stat_statements", query, {"limit": self.cfg.statements_limit})
        except pg_errors.ObjectNotInPrerequisiteState as exc:  # created, but not preloaded
            notes["statements"] = f"pg_stat_statements is unavailable: {self._redact(_first_lines(exc))}"
            return [("pg_statements_available", available, 0.0)]
        out: Triples = [("pg_statements_available", available, 1.0)]
        for row in rows:
            lab = labels_of(**base, queryid=row["queryid"], query=q.query_label(row["query"]))
            out += [(m, lab, v) for m, v in q.values(q.with_mean(row), q.STATEMENT_METRICS)]
        return out

    # -- the Collector contract -------------------------------------------------------------------
    def _collect_once(self) -> tuple[dict[str, str], Triples, dict[str, str], dict[str, str]]:
        self._connection()
        base = {**self.cfg.labels, "source": self.name, "database": self._database}
        notes: dict[str, str] = {}
        views: dict[str, Callable[[], Triples]] = {
            "pg_stat_database": lambda: self._database_stats(base),
            "pg_stat_user_tables": lambda: self._tables(base, notes),
            "pg_stat_user_indexes": lambda: self._indexes(base, notes),
            "pg_stat_statements": lambda: self._statements(base, notes),
        }
        triples: Triples = []
        errors: dict[str, str] = {}
        for view, read in views.items():
            try:
                triples += read()
            except pg_errors.QueryCanceled as exc:
                errors[view] = (
                    f"no answer within the statement timeout of {self.cfg.timeout_s:g}s "
                    f"({self._redact(_first_lines(exc))}); a lock held by another session or a very "
                    "large catalog can cause this"
                )
            except psycopg.Error as exc:
                errors[view] = self._redact(_first_lines(exc))
        return base, triples, errors, notes

    def _attempt(self) -> tuple[dict[str, str], Triples, dict[str, str], dict[str, str]]:
        """One collection; a connection that breaks (server restart, idle kill) gets one new try."""
        for attempt in (1, 2):
            try:
                return self._collect_once()
            except _ConnectionLost as exc:
                self.close()
                if attempt == 2:
                    raise self._fail("lost the connection to", exc.__cause__ or exc) from None
        raise AssertionError("unreachable")

    def collect(self) -> list[Sample]:
        ts = int(self._clock() * 1000)
        base, triples, errors, notes = self._attempt()
        self.health.extra["partial_errors"] = errors
        self.health.extra["notes"] = notes
        if len(errors) == 4:
            detail = "; ".join(f"{view}: {err}" for view, err in errors.items())
            raise CollectorError(f"postgres source {self.name!r}: every view failed ({detail})")
        samples = [Sample("pg_up", labels_of(**base), ts, 1.0)]
        samples += [Sample(m, lab, ts, v) for m, lab, v in triples]
        return samples
