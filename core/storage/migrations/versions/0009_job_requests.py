""" "Run now" requests for the daemon's scheduled jobs, from the self-monitoring view.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "job_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_ms", sa.BigInteger, nullable=False),
        sa.Column("taken_ms", sa.BigInteger, nullable=True),
        sa.Column("taken_by", sa.String(200), nullable=True),
    )
    op.create_index("ix_job_requests_open", "job_requests", ["taken_ms", "requested_ms"])


def downgrade() -> None:
    op.drop_table("job_requests")
