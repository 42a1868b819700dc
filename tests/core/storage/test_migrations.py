"""The Alembic migrations build exactly the tables core/storage/schema.py declares."""

from __future__ import annotations

import math

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.storage.engine import make_engine, upgrade
from core.storage.schema import metadata


def test_migrations_match_the_declared_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    # SQLite reports no server-side types for some columns; anything structural shows up here
    assert [
        d
        for d in diff
        if d[0] in ("add_table", "remove_table", "add_column", "remove_column", "add_index", "remove_index")
    ] == []


def test_0019_keeps_the_rollup_rows_of_an_older_database_with_their_first_sample_not_known(
    db_url: str,
) -> None:
    """A database at 0018 holding rollup rows upgrades in place: the rows stay, first/first_ts
    NULL ("not known"), which readers take as NaN (the engine then reads raw samples)."""
    from alembic import command
    from alembic.config import Config

    from core.storage.engine import MIGRATIONS
    from core.storage.schema import rollup_1h
    from core.storage.tsdb.read import read_rollup

    engine = make_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0018")
        conn.exec_driver_sql(
            'INSERT INTO rollup_1h (series_id, ts, "min", "max", "sum", "count", "last") VALUES (1, 0, 1, 3, 4, 2, 3)'
        )
    upgrade(engine)
    with engine.connect() as conn:
        frame = read_rollup(conn, rollup_1h, [1], 0, 1)
    engine.dispose()
    row = frame.row(0, named=True)
    assert (row["count"], row["sum"], row["last"]) == (2, 4.0, 3.0)
    assert math.isnan(row["first"]) and math.isnan(row["first_ts"])
