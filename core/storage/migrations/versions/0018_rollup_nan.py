"""Rollup rows may hold NaN: on SQLite as NULL, since SQLite has no NaN.

A minute whose samples include a NaN (a summary quantile with no observations, as exporters
publish it) has NaN as its sum, and NaN as min, max or last where every sample is NaN. Python's
sqlite3 binds float NaN as NULL, so the NOT NULL columns failed the rollup job's whole
transaction, every run after. The value columns become nullable; readers turn NULL back into
NaN (``rollup_rows`` in core/storage/tsdb/read.py). PostgreSQL stores NaN itself; its columns change too so
that both schemas stay the same. Downgrading deletes the rows holding a NULL (the old schema
cannot hold them); rebuild the rollups after a downgrade.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"

_TABLES = ("rollup_1m", "rollup_1h")
_VALUES = ("min", "max", "sum", "last")


def _nullable(flag: bool) -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            for column in _VALUES:
                batch.alter_column(column, existing_type=sa.Float, nullable=flag)


def upgrade() -> None:
    _nullable(True)


def downgrade() -> None:
    for table in _TABLES:
        nulls = " OR ".join(f'"{c}" IS NULL' for c in _VALUES)
        op.execute(f"DELETE FROM {table} WHERE {nulls}")
    _nullable(False)
