"""Storage: the only layer of Pulse that speaks SQL.

Two packages on one database: ``core.storage.tsdb``, the time-series engine (series, head blocks,
chunks, rollups, queries, compaction, retention), and ``core.storage.repos``, the application's
repositories (users, alert states, notifications, incidents, the daemon's health report). Both
share the engine, the schema and its migrations, which live here.

The domain packages hold a :data:`Database` (the engine handle, opaque to them) and hand it to
the repositories' functions; they never import SQLAlchemy nor write SQL (an import-linter contract).
"""

from sqlalchemy.engine import Engine as Database

__all__ = ["Database"]
