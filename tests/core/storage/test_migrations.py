"""The Alembic migrations build exactly the tables core/storage/schema.py declares."""

from __future__ import annotations

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
