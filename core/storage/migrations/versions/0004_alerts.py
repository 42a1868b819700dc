"""Alert rule state (pending/firing/resolved per label set) and the history of its transitions.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "alert_states",
        sa.Column("rule", sa.String(300), primary_key=True),
        sa.Column("fingerprint", sa.String(16), primary_key=True),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("annotations", sa.Text, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("active_at_ms", sa.BigInteger, nullable=False),
        sa.Column("fired_at_ms", sa.BigInteger),
        sa.Column("resolved_at_ms", sa.BigInteger),
        sa.Column("last_active_ms", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float),
    )
    op.create_table(
        "alert_transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(300), nullable=False),
        sa.Column("fingerprint", sa.String(16), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("from_state", sa.String(10), nullable=False),
        sa.Column("to_state", sa.String(10), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float),
    )
    op.create_index("ix_alert_transitions_at", "alert_transitions", ["at_ms"])
    op.create_index("ix_alert_transitions_rule", "alert_transitions", ["rule", "at_ms"])


def downgrade() -> None:
    op.drop_table("alert_transitions")
    op.drop_table("alert_states")
