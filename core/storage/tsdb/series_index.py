"""The series table in memory, per database engine, so that a query does not read and parse
every label set of its metric again.

Series rows are never updated or deleted (a label set is its fingerprint; retention drops
samples, not series), and on SQLite new ones become visible in id order: one writer at a time
takes the next id and commits before the next writer starts. So the index is brought up to date
with one small query (the largest id, and the fingerprint of the largest id it already holds),
plus the rows above its largest id when there are new ones. A database that was replaced under
a running process (largest id lower, or that row's fingerprint changed) is read again whole.

PostgreSQL is not indexed this way: concurrent writers take ids from a sequence and may commit
out of order (and ``ON CONFLICT DO NOTHING`` burns ids), so "every id above the largest seen"
could miss a series committed late. There every lookup reads the table, as before.
"""

from __future__ import annotations

import json
import threading
import weakref

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.kernel.selector import Selector
from core.storage.schema import series

Found = list[tuple[int, dict[str, str]]]

_PROBE = sa.text("SELECT (SELECT max(id) FROM series), (SELECT fingerprint FROM series WHERE id = :last)")
_NEWER = sa.select(series.c.id, series.c.metric, series.c.labels, series.c.fingerprint).where(
    series.c.id > sa.bindparam("after")
)
_OF_METRIC = sa.select(series.c.id, series.c.labels).where(series.c.metric == sa.bindparam("metric"))


class _Index:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.top = 0  # largest id held
        self.top_fingerprint: str | None = None
        self.by_metric: dict[str, Found] = {}

    def refresh(self, conn: Connection) -> None:
        top, fingerprint = conn.execute(_PROBE, {"last": self.top}).one()
        top = int(top or 0)
        if top < self.top or (self.top and fingerprint != self.top_fingerprint):
            self.top, self.top_fingerprint, self.by_metric = 0, None, {}  # another database now
        if top == self.top:
            return
        for sid, metric, text, fp in conn.execute(_NEWER.order_by(series.c.id), {"after": self.top}):
            self.by_metric.setdefault(metric, []).append((int(sid), json.loads(text)))
            self.top, self.top_fingerprint = int(sid), fp


_INDEXES: weakref.WeakKeyDictionary[Engine, _Index] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def _index(conn: Connection) -> _Index | None:
    if conn.dialect.name != "sqlite":
        return None
    with _GUARD:
        return _INDEXES.setdefault(conn.engine, _Index())


def find_series(conn: Connection, selector: Selector) -> Found:
    """(id, labels) of every series of the selector's metric whose labels satisfy its matchers,
    by id. The label dicts are the caller's own (copies)."""
    index = _index(conn)
    if index is None:
        rows = conn.execute(_OF_METRIC.order_by(series.c.id), {"metric": selector.metric})
        return [(int(sid), lb) for sid, text in rows if selector.matches(lb := json.loads(text))]
    with index.lock:
        index.refresh(conn)
        candidates = index.by_metric.get(selector.metric, [])
        return [(sid, dict(lb)) for sid, lb in candidates if selector.matches(lb)]


def metric_names(conn: Connection) -> list[str] | None:
    """Every metric name, sorted, from the index; None where there is no index (PostgreSQL)."""
    index = _index(conn)
    if index is None:
        return None
    with index.lock:
        index.refresh(conn)
        return sorted(index.by_metric)
