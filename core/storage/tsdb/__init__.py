"""The time-series engine: series, head blocks, compressed chunks, rollups, queries, retention."""

from core.storage.tsdb.query import Query
from core.storage.tsdb.store import Store, open_store

__all__ = ["Query", "Store", "open_store"]
