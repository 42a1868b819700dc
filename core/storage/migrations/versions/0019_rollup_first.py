"""Rollup rows keep their bucket's first sample (value and time) and its last sample's time;
series remember whether a stale marker was ever written for them.

With them, a window that ends exactly at a bucket's start (``avg_over_time(x[1h])`` at whole
hours, as Grafana aligns its steps) is answered from rollups alone: Prometheus 2's windows are
closed, so a sample exactly at the end belongs to the window, and it is the first sample of the
next bucket. Rows written before this migration have NULL there ("not known"); readers then take
the raw samples, as before. An instant selector at whole hours is likewise the sample exactly
at the hour, else the previous bucket's last within the lookback, unless the series ever had a
stale marker (rollups leave them out): ``stale_seen``, false for existing series (no Pulse
before this one stored markers). Packed rollup chunks gain the two columns when next rewritten; a
Pulse older than this migration cannot decode those (upgrade every daemon sharing a database).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"

_TABLES = ("rollup_1m", "rollup_1h")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("first", sa.Float, nullable=True))
            batch.add_column(sa.Column("first_ts", sa.Float, nullable=True))
            batch.add_column(sa.Column("last_ts", sa.Float, nullable=True))
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("stale_seen", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.drop_column("stale_seen")
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("last_ts")
            batch.drop_column("first_ts")
            batch.drop_column("first")
