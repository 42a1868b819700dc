"""Each series' typical sample interval, which decides whether it gets a 1-minute rollup tier.

NULL until the rollup job has measured it (core/storage/tsdb/tiers.py). Downgrading drops the
column: the code before it writes 1 m rows for every series again, but reads of minutes that
only raw samples hold (series without the tier) would come back empty until they are rolled up
anew, so downgrade only together with a rebuild of the rollups.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("interval_ms", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.drop_column("interval_ms")
