"""``bench compare --postgres URL``: Pulse on a PostgreSQL schema of its own, measured as plain
autovacuum would leave it (issue 16: bytes <= 1.0x Prometheus "with plain autovacuum")."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def fresh_schema(server_url: str) -> Iterator[str]:
    """A new schema ``pulse_compare_<random>`` on ``server_url``; the URL that uses it; dropped after."""
    name = f"pulse_compare_{secrets.token_hex(4)}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    url = sa.make_url(server_url).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


def bytes_after_plain_vacuum(url: str) -> int:
    """The schema's bytes after a plain ``VACUUM`` (what autovacuum does; not ``VACUUM FULL``)."""
    from core.storage.dbsize import database_bytes

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM")
        return database_bytes(engine)
    finally:
        engine.dispose()
