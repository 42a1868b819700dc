"""Storage: the only layer of Pulse that speaks SQL.

Two packages on one database: ``core.storage.tsdb``, the time-series engine (series, head blocks,
chunks, rollups, queries, compaction, retention), and ``core.storage.repos``, the application's
repositories (users, alert states, notifications, incidents, the daemon's health report). Both
share the engine, the schema and its migrations, which live here.
"""
