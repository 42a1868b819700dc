"""Index chunks and rollup chunks by their end, so a range finds its chunks without walking
every older chunk of each series (core/storage/tsdb/overlap.py says what it saves).

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.create_index("ix_chunks_series_end", "chunks", ["series_id", "end_ts"])
    op.create_index("ix_rollup_chunks_series_end", "rollup_chunks", ["resolution", "series_id", "end_ts"])


def downgrade() -> None:
    op.drop_index("ix_rollup_chunks_series_end", table_name="rollup_chunks")
    op.drop_index("ix_chunks_series_end", table_name="chunks")
