"""The tables of alert rules made in the UI; on the metadata of schema.py.

``ui_rules`` holds one row per rule (key: group and alert name). ``ui_rules_version`` is one row
whose number grows with every change of ``ui_rules`` (a delete included), so the daemon's leader
learns that the rules changed from one cheap read instead of comparing every row.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text

from core.storage.schema import metadata

ui_rules = Table(
    "ui_rules",
    metadata,
    Column("group_name", String(200), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("rule_yaml", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("author", String(100), nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("revision", Integer, nullable=False),
)

ui_rules_version = Table(
    "ui_rules_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)
