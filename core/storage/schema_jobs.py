"""The table of "run now" requests for the daemon's scheduled jobs; on the shared metadata of schema.py.

The dashboard inserts a row; a daemon that has the job takes it (sets ``taken_ms`` in one UPDATE
that only one daemon wins) and moves the job's next run to now. Rows are kept for the admin view.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from core.storage.schema import metadata

job_requests = Table(
    "job_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(200), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_ms", BigInteger, nullable=False),
    Column("taken_ms", BigInteger, nullable=True),
    Column("taken_by", String(200), nullable=True),
    Index("ix_job_requests_open", "taken_ms", "requested_ms"),
)
