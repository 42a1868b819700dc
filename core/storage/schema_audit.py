"""The audit log's table (see core.admin.audit); registered on the shared metadata of schema.py.

Append-only: rows are written in the same transaction as the change they describe and never
updated. ``before`` and ``after`` are JSON text, masked before they get here.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from core.storage.schema import metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("source", String(10), nullable=False),
    Column("action", String(60), nullable=False),
    Column("object_kind", String(40), nullable=False),
    Column("object_id", String(200), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Column("note", String(500), nullable=False),
    Index("ix_audit_log_at", "at_ms"),
    Index("ix_audit_log_actor", "actor", "at_ms"),
    Index("ix_audit_log_object", "object_kind", "object_id", "at_ms"),
)
