"""Which columns of which tables a SQL statement filters, joins and sorts on, read with a real
parser (sqlglot, PostgreSQL dialect) and resolved to their tables by sqlglot's qualifier.

``$n`` placeholders (pg_stat_statements' normalised text) parse as parameters. Tables are resolved
by the caller (``resolve``: the name as written -> its schema and columns, or None when it is not a
table, e.g. a view or a CTE) so that unqualified names follow the watched database's search path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.tokens import TokenType

Resolve = Callable[[str | None, str], tuple[str, dict[str, str]] | None]
EQUALITY = (exp.EQ, exp.In, exp.Is)
PLACEHOLDER = re.compile(r"(\$\d+)(?=[^\s\d])")
RANGE = (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)


@dataclass
class TableUse:
    """The columns of one table a statement uses, each list in first-seen order, no repeats."""

    schema: str
    table: str
    equality: list[str] = field(default_factory=list)  # col = value, col IN (...), join keys
    range: list[str] = field(default_factory=list)  # col < value, BETWEEN
    order: list[str] = field(default_factory=list)  # ORDER BY, when every key is on this table

    def add(self, kind: str, column: str) -> None:
        cols = getattr(self, kind)
        if column not in cols:
            cols.append(column)


class NotAdvisable(ValueError):
    """The statement cannot get index advice; the message says why."""


def table_uses(query: str, resolve: Resolve) -> list[TableUse]:
    try:
        # sqlglot's tokenizer reads "$1,$2" as a dollar-quoted string: a space after each placeholder
        text = PLACEHOLDER.sub(r"\1 ", query)
        tokens = sqlglot.tokenize(text, dialect="postgres")
        first = tokens[0] if tokens else None
        if first is None or first.token_type not in (TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN):
            raise NotAdvisable(
                f"{first.text.upper() if first else 'an empty'} statement: only SELECTs are checked"
            )
        tree = sqlglot.parse_one(text, dialect="postgres")
    except SqlglotError as exc:
        raise NotAdvisable(f"not parsed: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(tree, exp.Select | exp.Union):
        raise NotAdvisable(f"{tree.key.upper()} statement: only SELECTs are checked")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    schema: dict[str, object] = {}
    for t in tree.find_all(exp.Table):
        if not isinstance(t.this, exp.Identifier) or (t.name in ctes and not t.db):
            continue  # a set-returning function (generate_series(...)) or a CTE: no index there
        found = resolve(t.db or None, t.name)
        if found is None:
            raise NotAdvisable(f"{t.sql('postgres')} is not a table of this database")
        sch, cols = found
        t.set("db", exp.to_identifier(sch))
        tables = schema.setdefault(sch, {})
        assert isinstance(tables, dict)
        tables[t.name] = cols
    try:
        tree = qualify(tree, schema=schema, dialect="postgres")
    except SqlglotError as exc:
        raise NotAdvisable(f"columns not resolved: {str(exc).splitlines()[0][:200]}") from None
    alias = {t.alias_or_name: (t.db, t.name) for t in tree.find_all(exp.Table) if t.db}
    uses: dict[tuple[str, str], TableUse] = {}

    def use(col: exp.Column) -> TableUse | None:
        key = alias.get(col.table)
        if key is None:
            return None
        return uses.setdefault(key, TableUse(*key))

    for pred in tree.find_all(*EQUALITY, *RANGE):
        kind = "equality" if isinstance(pred, EQUALITY) else "range"
        left, right = pred.this, pred.expression
        for side, other in ((left, right), (right, left)):
            if isinstance(side, exp.Column) and not _same_table(side, other) and (u := use(side)):
                u.add(kind, side.name)
    for order in tree.find_all(exp.Order):
        keys = [o.this for o in order.expressions]
        if keys and all(isinstance(k, exp.Column) for k in keys) and len({k.table for k in keys}) == 1:
            u = use(keys[0])
            for k in keys:
                if u is not None:
                    u.add("order", k.name)
    return [u for u in uses.values() if u.equality or u.range or u.order]


def _same_table(col: exp.Column, other: exp.Expression | None) -> bool:
    """``a.x = a.y`` is not an index key: both sides on the same table."""
    return isinstance(other, exp.Column) and other.table == col.table
