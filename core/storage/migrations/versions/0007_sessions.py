"""Server-side sessions of the dashboard and the log of sign-in attempts (throttle and audit).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger, nullable=False),
        sa.Column("renewed_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_sessions_user", "sessions", ["user_id"])
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("known", sa.Boolean, nullable=False),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
    )
    op.create_index("ix_sign_in_attempts_user", "sign_in_attempts", ["username", "at_ms"])
    op.create_index("ix_sign_in_attempts_client", "sign_in_attempts", ["client", "at_ms"])
    op.create_index("ix_sign_in_attempts_at", "sign_in_attempts", ["at_ms"])


def downgrade() -> None:
    op.drop_table("sign_in_attempts")
    op.drop_table("sessions")
