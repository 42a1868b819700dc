"""Candidate indexes for one table from how a statement uses it, and how each relates to the
indexes the table already has (covered, extending one, sharing its leading column)."""

from __future__ import annotations

from core.kernel.pgadvice import ExistingIndex, TableStats
from core.optimization.sql_columns import TableUse


def candidates(use: TableUse, max_columns: int) -> list[tuple[str, ...]]:
    """B-tree key lists worth a hypothetical check, most specific first, no repeats.

    Equality columns lead (any order serves them; first-seen order is kept), then one range
    column or the ORDER BY keys; single columns are tried too, since a narrower index that is
    nearly as good is cheaper to keep.
    """
    eq = use.equality[:max_columns]
    out: list[tuple[str, ...]] = []
    for cols in (
        *(tuple(eq + [r]) for r in use.range if r not in eq),
        tuple(eq + [o for o in use.order if o not in eq]),
        tuple(eq),
        *((c,) for c in use.equality),
        *((r,) for r in use.range),
        tuple(use.order),
    ):
        cols = cols[:max_columns]
        if cols and cols not in out:
            out.append(cols)
    return out


def covering(cols: tuple[str, ...], table: TableStats) -> ExistingIndex | None:
    """A valid existing index whose leading keys are ``cols``: the candidate adds nothing."""
    for ix in table.indexes:
        if ix.valid and not ix.partial and ix.columns[: len(cols)] == cols:
            return ix
    return None


def overlapping(cols: tuple[str, ...], table: TableStats) -> list[ExistingIndex]:
    """Existing indexes sharing the candidate's leading column (one of them may become redundant)."""
    return [ix for ix in table.indexes if ix.columns and ix.columns[0] == cols[0]]


def ddl(table: TableStats, cols: tuple[str, ...], concurrently: bool = False) -> str:
    """``CREATE INDEX [CONCURRENTLY] ON "schema"."table" ("a", "b")`` with quoted identifiers."""
    keys = ", ".join(_quote(c) for c in cols)
    how = "CONCURRENTLY " if concurrently else ""
    return f"CREATE INDEX {how}ON {_quote(table.schema)}.{_quote(table.name)} ({keys})"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
