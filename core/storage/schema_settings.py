"""The settings overrides an admin saved (see core.admin.settings); on the shared metadata of schema.py.

One row per top-level section of the settings (``alerting``, ``sources``, ...): its overriding
values as JSON, the revision of its last change, who made it and when. The daemons poll the
highest revision to notice a change; a section reset to the file's values keeps its row with
``value`` NULL, so the revision never goes back.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from core.storage.schema import metadata

settings_overrides = Table(
    "settings_overrides",
    metadata,
    Column("section", String(60), primary_key=True),
    Column("value", Text, nullable=True),
    Column("revision", Integer, nullable=False),
    Column("updated_by", String(100), nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)
