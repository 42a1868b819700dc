"""Initial metrics store: series, head, chunks, rollups, dirty buckets, rejects, meta.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def _rollup(name: str) -> None:
    op.create_table(
        name,
        sa.Column("series_id", sa.Integer, primary_key=True),
        sa.Column("ts", sa.BigInteger, primary_key=True),
        sa.Column("min", sa.Float, nullable=False),
        sa.Column("max", sa.Float, nullable=False),
        sa.Column("sum", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("last", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(32), nullable=False, unique=True),
        sa.Column("metric", sa.String(200), nullable=False, index=True),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("min_ts", sa.BigInteger, nullable=False, index=True),
        sa.Column("max_ts", sa.BigInteger, nullable=False, index=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "chunks",
        sa.Column("series_id", sa.Integer, primary_key=True),
        sa.Column("start_ts", sa.BigInteger, primary_key=True),
        sa.Column("end_ts", sa.BigInteger, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sqlite_with_rowid=False,
    )
    _rollup("rollup_1m")
    _rollup("rollup_1h")
    op.create_table(
        "rollup_dirty",
        sa.Column("resolution", sa.BigInteger, primary_key=True),
        sa.Column("bucket", sa.BigInteger, primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "ingest_rejects",
        sa.Column("reason", sa.String(40), primary_key=True),
        sa.Column("metric", sa.String(200), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("last_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "meta",
        "ingest_rejects",
        "rollup_dirty",
        "rollup_1h",
        "rollup_1m",
        "chunks",
        "head",
        "series",
    ):
        op.drop_table(name)
