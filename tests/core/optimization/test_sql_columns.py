"""Which columns of which tables a statement filters, joins and sorts on (sqlglot), and the
candidate indexes and overlaps derived from them."""

from __future__ import annotations

import pytest

from core.kernel.pgadvice import ExistingIndex, TableStats
from core.optimization.index_candidates import candidates, covering, ddl, overlapping
from core.optimization.sql_columns import NotAdvisable, TableUse, table_uses

TABLES = {
    "events": ("app", {"id": "int", "user_id": "int", "kind": "text", "created_at": "timestamptz"}),
    "users": ("public", {"id": "int", "name": "text", "team": "text"}),
}


def resolve(schema: str | None, name: str) -> tuple[str, dict[str, str]] | None:
    found = TABLES.get(name)
    return found if found and (schema is None or schema == found[0]) else None


def uses(query: str) -> dict[str, tuple[list[str], list[str], list[str]]]:
    return {u.table: (u.equality, u.range, u.order) for u in table_uses(query, resolve)}


def test_filters_joins_and_sorts_resolve_to_their_tables() -> None:
    q = (
        "SELECT e.id, u.name FROM events e JOIN users u ON u.id = e.user_id "
        "WHERE u.team = $1 AND e.created_at > $2 AND e.kind IN ($3,$4) ORDER BY e.created_at DESC LIMIT $5"
    )
    assert uses(q) == {
        "users": (["id", "team"], [], []),
        "events": (["user_id", "kind"], ["created_at"], ["created_at"]),
    }
    # unqualified columns are resolved through the schema; $1||$2 and BETWEEN parse
    assert uses("select * from app.events where user_id between $1 and $2 and kind=$3||$4") == {
        "events": (["kind"], ["user_id"], [])
    }
    # a sort over two tables is no single index's order; a comparison within one table no key
    assert uses("SELECT 1 FROM events e, users u WHERE e.id = e.user_id ORDER BY e.kind, u.name") == {}


def test_ctes_and_functions_in_from() -> None:
    q = "WITH x AS (SELECT * FROM events WHERE kind = $1) SELECT count(*) FROM x, generate_series(1, $2) g"
    assert uses(q) == {"events": (["kind"], [], [])}


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("UPDATE events SET kind = $1 WHERE id = $2", "UPDATE statement: only SELECTs are checked"),
        ("SELECT * FROM nope WHERE a = $1", "nope is not a table of this database"),
        ("SELECT zz FROM events", "columns not resolved"),
        ("", "an empty statement"),
    ],
)
def test_what_cannot_be_advised_says_why(query: str, why: str) -> None:
    with pytest.raises(NotAdvisable, match=why):
        table_uses(query, resolve)


def test_candidates_and_existing_indexes() -> None:
    use = TableUse("app", "events", equality=["user_id", "kind"], range=["created_at"], order=["id"])
    assert candidates(use, 3) == [
        ("user_id", "kind", "created_at"),
        ("user_id", "kind", "id"),
        ("user_id", "kind"),
        ("user_id",),
        ("kind",),
        ("created_at",),
        ("id",),
    ]
    assert candidates(use, 1) == [("user_id",), ("kind",), ("created_at",), ("id",)]
    t = TableStats(
        "app",
        "events",
        {},
        10,
        0,
        0,
        8192,
        (
            ExistingIndex("ev_user_kind", ("user_id", "kind"), 1, 5, False),
            ExistingIndex("ev_user_part", ("user_id",), 1, 0, False, partial=True),
        ),
    )
    assert covering(("user_id",), t) is t.indexes[0] and covering(("kind",), t) is None
    assert [ix.name for ix in overlapping(("user_id", "created_at"), t)] == ["ev_user_kind", "ev_user_part"]
    assert ddl(t, ("user_id", 'we"ird')) == 'CREATE INDEX ON "app"."events" ("user_id", "we""ird")'
