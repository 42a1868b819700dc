"""Saved what-if scenarios of the capacity planner.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "plan_scenarios",
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("plan_scenarios")
