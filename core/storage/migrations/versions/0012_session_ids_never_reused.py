"""Session ids are never reused: the sessions table again, with SQLite's AUTOINCREMENT.

A browser session keeps its session's id. SQLite without AUTOINCREMENT gives a new row the id
of the highest deleted one, so a browser whose session had ended could resume the next session
made (another user's, or the same user's after a password reset). PostgreSQL's identity column
never reuses ids; on SQLite the table is made anew. Sessions are short-lived: everyone signs in
once more after this upgrade.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def _sessions(**kw: bool) -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger, nullable=False),
        sa.Column("renewed_ms", sa.BigInteger, nullable=False),
        **kw,
    )
    op.create_index("ix_sessions_user", "sessions", ["user_id"])


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_table("sessions")
    _sessions(sqlite_autoincrement=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_table("sessions")
    _sessions()
