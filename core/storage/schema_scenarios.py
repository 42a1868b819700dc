"""The table of saved capacity scenarios (see core.capacity.scenario); on the metadata of schema.py.

A row is one user's named what-if: its inputs as JSON, never its results (those are re-projected
on the current forecast when shown). The key is (owner, name): names are per user.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, Text

from core.storage.schema import metadata

plan_scenarios = Table(
    "plan_scenarios",
    metadata,
    Column("owner", String(64), primary_key=True),
    Column("name", String(60), primary_key=True),
    Column("settings", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)
