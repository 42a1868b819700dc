"""The lifecycle events of recommendations (see core.optimization.lifecycle); registered on the
shared metadata of schema.py. Append-only: the latest event of a key is its state."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from core.storage.schema import metadata

recommendation_events = Table(
    "recommendation_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(500), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("team", String(100), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("username", String(64), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("until_ms", BigInteger, nullable=True),
    Index("ix_recommendation_events_key", "key", "id"),
    Index("ix_recommendation_events_team", "team", "at_ms"),
)
