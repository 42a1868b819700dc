"""Head block ids are never reused on SQLite (AUTOINCREMENT), as on PostgreSQL (a sequence).

Readers keep decoded head blocks in memory keyed by (id, n, min_ts, max_ts)
(core/storage/tsdb/head_cache.py). That key names one content only if an id is never given to
another block: compaction trims a block in place (same id, fewer samples) and deletes it when
nothing is left, and without AUTOINCREMENT SQLite hands the largest deleted id to the next
block. The table is rebuilt with the same rows; ``sqlite_sequence`` starts at the largest id.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"

_REBUILD = """
CREATE TABLE head_new (
    id INTEGER PRIMARY KEY {auto},
    min_ts BIGINT NOT NULL,
    max_ts BIGINT NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL
);
INSERT INTO head_new (id, min_ts, max_ts, n, data) SELECT id, min_ts, max_ts, n, data FROM head;
DROP TABLE head;
ALTER TABLE head_new RENAME TO head;
CREATE INDEX ix_head_max_ts ON head (max_ts);
CREATE INDEX ix_head_min_ts ON head (min_ts);
"""


def _rebuild(auto: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL takes ids from a sequence: never reused
    for statement in _REBUILD.format(auto=auto).split(";"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    _rebuild("AUTOINCREMENT")


def downgrade() -> None:
    _rebuild("")
