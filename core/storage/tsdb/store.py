"""The Store: one object per process and database that the rest of Pulse talks to."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.kernel.samples import Sample
from core.kernel.selector import Selector, parse_selector
from core.kernel.settings import Settings
from core.storage.engine import make_engine, storage_errors, upgrade
from core.storage.reclaim import reclaim
from core.storage.schema import ingest_rejects, meta, series
from core.storage.tsdb import read, read_series
from core.storage.tsdb.batch import Element, run_instant, run_queries
from core.storage.tsdb.compaction import compact
from core.storage.tsdb.head_cache import Block as HeadBlock
from core.storage.tsdb.ingest import Writer, WriteResult
from core.storage.tsdb.query import Query, run_query
from core.storage.tsdb.retention import apply_retention
from core.storage.tsdb.rollup import run_rollups
from core.storage.tsdb.rollup_chunks import compact_rollups

HOUR_MS = 3_600_000
DECODED_BYTES = 16  # a decoded raw sample: int64 timestamp + float64 value


class Store:
    """Writes, reads and maintenance of the metrics store.

    Writes and maintenance (rollups, compaction, retention) of one process are serialised by a
    lock, so the dirty-bucket bookkeeping of rollups never races with a concurrent write.
    """

    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.writer = Writer(engine, settings.ingest, clock)
        self._lock = threading.RLock()  # writes, and each maintenance transaction
        self._maintenance = threading.Lock()  # one maintenance run at a time (rollups, compaction)
        self.last_rollup_chunks = 0
        self._pin = threading.local()  # the connection pinned by `pinned()` in this thread

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def use_settings(self, settings: Settings) -> None:
        """Take new retention and ingest limits (settings changed while running); the next write,
        compaction or retention run uses them."""
        with self._lock:
            self.settings = settings
            self.writer.settings = settings.ingest

    # -- writes and maintenance -------------------------------------------------
    def write(self, batch: Sequence[Sample]) -> WriteResult:
        with self._lock:
            return self.writer.write(batch)

    def run_rollups(self) -> int:
        with self._maintenance:
            return run_rollups(self.engine, lock=self._lock)

    def compact(self) -> int:
        """Bring rollups up to date, then pack old head blocks and old rollup rows into chunks.

        Returns the raw chunks written (``last_rollup_chunks`` holds the rollup chunks written).
        Runs in short transactions, each holding the write lock: writes go in between.
        """
        with self._maintenance:
            stable = self.now_ms() - self.settings.ingest.out_of_order_window_s * 1000 - HOUR_MS
            run_rollups(self.engine, pack_before=stable, lock=self._lock)
            written = compact(self.engine, self.settings.ingest, self.now_ms(), lock=self._lock)
            with storage_errors("listing series"), self.engine.connect() as conn:
                ids = read.all_series_ids(conn)
            self.last_rollup_chunks = compact_rollups(self.engine, ids, stable, lock=self._lock)
            reclaim(self.engine, self._lock)
            return written

    def apply_retention(self) -> dict[str, int]:
        with self._lock:
            deleted = apply_retention(self.engine, self.settings.retention, self.now_ms())
            reclaim(self.engine)
            return deleted

    # -- reads ------------------------------------------------------------------
    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Every read of this thread inside the block on one connection: a PromQL query's series
        lookup, chunk and head reads take one pool checkout instead of one each. On PostgreSQL
        a checkout is two round trips (the guard's ping, the reset at check-in): 4 of an instant
        query's 7. Nested blocks share the outer one's connection."""
        if getattr(self._pin, "conn", None) is not None:
            yield
            return
        with storage_errors("reading samples"), self.engine.connect() as conn:
            self._pin.conn = conn
            try:
                yield
            finally:
                self._pin.conn = None

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        pinned = getattr(self._pin, "conn", None)
        if pinned is not None:
            yield pinned
            return
        with self.engine.connect() as conn:
            yield conn

    def query(self, q: Query) -> pl.DataFrame:
        with storage_errors("querying samples"), self._reading() as conn:
            return run_query(conn, q, self.settings.retention, self.now_ms())

    def query_many(self, qs: Sequence[Query]) -> list[pl.DataFrame]:
        """Many queries in one connection; queries of one metric and range share one read."""
        with storage_errors("querying samples"), self._reading() as conn:
            return run_queries(conn, qs, self.settings.retention, self.now_ms())

    def instant_many(self, qs: Sequence[Query]) -> list[list[Element]]:
        """Latest value per label set of many queries (an alerting cycle's window queries)."""
        with storage_errors("querying samples"), self._reading() as conn:
            return run_instant(conn, qs, self.settings.retention, self.now_ms())

    def select(self, selector: str | Selector, start_ms: int, end_ms: int, **kw: object) -> pl.DataFrame:
        sel = parse_selector(selector) if isinstance(selector, str) else selector
        return self.query(Query(sel, start_ms, end_ms, **kw))  # type: ignore[arg-type]

    def series(self, selector: str | Selector) -> pl.DataFrame:
        sel = parse_selector(selector) if isinstance(selector, str) else selector
        with storage_errors("listing series"), self._reading() as conn:
            return read.select_series(conn, sel)

    def find_series(self, selector: Selector) -> list[tuple[int, dict[str, str]]]:
        """(id, labels) of the selector's series, by id: :meth:`series` without building a frame
        (the PromQL engine's lookup, paid by every query)."""
        with storage_errors("listing series"), self._reading() as conn:
            return read.find_series(conn, selector)

    def metrics(self) -> list[str]:
        with storage_errors("listing metrics"), self._reading() as conn:
            return read.metric_names(conn)

    def series_count(self) -> int:
        with storage_errors("counting series"), self._reading() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(series)).scalar_one())

    def rejects(self) -> pl.DataFrame:
        """Rejected samples by reason and metric, persisted across restarts."""
        schema = {"reason": pl.Utf8, "metric": pl.Utf8, "count": pl.Int64, "last_ms": pl.Int64}
        with storage_errors("reading rejects"), self._reading() as conn:
            rows = conn.execute(sa.select(*ingest_rejects.c).order_by(ingest_rejects.c.reason)).all()
        return pl.DataFrame(rows, schema=schema, orient="row")

    def raw(self, ids: Sequence[int], start_ms: int, end_ms: int) -> pl.DataFrame:
        with storage_errors("reading samples"), self._reading() as conn:
            return read_series.read_raw(conn, ids, start_ms, end_ms)

    def raw_arrays(
        self, ids: Sequence[int], start_ms: int, end_ms: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw samples as arrays (series id, ts, value), sorted: for reads of long ranges."""
        with storage_errors("reading samples"), self._reading() as conn:
            return read_series.read_raw_arrays(conn, ids, start_ms, end_ms)

    def raw_series(
        self,
        ids: Sequence[int],
        start_ms: int,
        end_ms: int,
        cached: bool = True,
        head: Sequence[HeadBlock] | None = None,
    ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Raw samples per series (start <= ts < end), stale markers kept: the PromQL engine's
        read, no frames built.
        For a read in parts: ``cached=False`` when :meth:`cacheable` says the chunk cache cannot
        hold the whole read, ``head`` the blocks of :meth:`head_blocks`, decoded once for all parts."""
        with storage_errors("reading samples"), self._reading() as conn:
            return read_series.read_series_arrays(
                conn, ids, start_ms, end_ms, cached=cached, head_blocks=head, keep_stale=True
            )

    def head_blocks(self, start_ms: int, end_ms: int) -> list[HeadBlock]:
        """The head blocks overlapping [start, end), decoded, for the parts of one read to share."""
        with storage_errors("reading samples"), self._reading() as conn:
            return read_series.head_blocks(conn, start_ms, end_ms)

    @staticmethod
    def cacheable(samples: int) -> bool:
        """Whether a read of ``samples`` raw samples fits the process' decoded-chunk cache."""
        from core.storage.tsdb.chunk_cache import CACHE

        return samples * DECODED_BYTES <= CACHE.max_bytes

    def stored_counts(self, ids: Sequence[int], start_ms: int, end_ms: int) -> tuple[dict[int, int], int]:
        """(samples per series in raw chunks overlapping [start, end), samples of the head blocks
        overlapping it, all series): how large a read would be, before reading."""
        with storage_errors("reading samples"), self._reading() as conn:
            return read_series.stored_counts(conn, ids, start_ms, end_ms)

    def edge_reads(
        self, ids: Sequence[int], intervals: Sequence[tuple[int, int]], start_ms: int, end_ms: int
    ) -> tuple[int, int]:
        """(raw chunks the intervals touch, raw chunks in [start, end)): is a rollup read worth it."""
        with storage_errors("reading samples"), self._reading() as conn:
            return read_series.chunks_touched(conn, ids, intervals, start_ms, end_ms)

    def raw_series_within(
        self, ids: Sequence[int], start_ms: int, end_ms: int, intervals: Sequence[tuple[int, int]]
    ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """As :meth:`raw_series`, reading only the chunks that overlap ``intervals`` (closed)."""
        with storage_errors("reading samples"), self._reading() as conn:
            return read_series.read_series_arrays(conn, ids, start_ms, end_ms, intervals)

    def ever_stale(self, ids: Sequence[int]) -> bool:
        """Whether a stale marker was ever written for one of ``ids`` (rollups leave them out)."""
        with storage_errors("reading series"), self._reading() as conn:
            return read_series.ever_stale(conn, ids)

    def rollup_series(
        self, width_ms: int, ids: Sequence[int], start_ms: int, end_ms: int
    ) -> dict[int, tuple[np.ndarray, ...]]:
        """Rollup rows per series (bucket start, count, sum, min, max, first, first_ts, last,
        last_ts), newest samples included."""
        with storage_errors("reading rollups"), self._reading() as conn:
            return read_series.read_rollup_arrays(conn, width_ms, ids, start_ms, end_ms)

    # -- small key/value facts ------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with storage_errors("reading meta"), self.engine.connect() as conn:
            return conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()

    def set_meta(self, key: str, value: str) -> None:
        from core.storage.upsert import upsert

        with storage_errors("writing meta"), self.engine.begin() as conn:
            upsert(conn, meta, [{"key": key, "value": value}], ["key"])

    def meta_items(self, prefix: str) -> dict[str, str]:
        """Every key starting with ``prefix`` and its value."""
        with storage_errors("reading meta"), self.engine.connect() as conn:
            q = sa.select(meta.c.key, meta.c.value).where(meta.c.key.startswith(prefix, autoescape=True))
            return {k: v for k, v in conn.execute(q)}

    def close(self) -> None:
        self.engine.dispose()


def open_store(settings: Settings, clock: Callable[[], float] = time.time, migrate: bool = True) -> Store:
    """Connect to the configured database, upgrade its schema and return a Store."""
    engine = make_engine(settings.url, settings.database)
    if migrate:
        upgrade(engine)
    return Store(engine, settings, clock)
