"""Plain records the database advisor reads from a watched PostgreSQL database.

``collectors/postgres_planner.py`` builds them (psycopg, against the watched database) and
``core/optimization/index_advice.py`` reasons on them; neither knows the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Statement:
    """One normalised statement of pg_stat_statements (summed over users), times in ms."""

    queryid: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


@dataclass(frozen=True)
class ExistingIndex:
    name: str
    columns: tuple[str, ...]  # key columns in order; "" for an expression
    size_bytes: int
    scans: int
    unique: bool
    valid: bool = True
    partial: bool = False  # has a WHERE clause: serves only some rows


@dataclass(frozen=True)
class TableStats:
    """A table a statement reads, with what the advice needs to weigh an index on it."""

    schema: str
    name: str
    columns: dict[str, str]  # name -> type, in table order
    live_rows: int
    writes: int  # rows inserted, updated and deleted since the statistics were reset
    seq_scans: int
    size_bytes: int
    indexes: tuple[ExistingIndex, ...] = field(default=())
    dead_rows: int = 0
    idx_scans: int = 0
    seq_rows_read: int = 0

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class PlanCost:
    """The planner's estimate of a statement (generic plan): total cost, and the indexes it uses."""

    cost: float
    indexes_used: tuple[str, ...] = ()
    hypothetical_size_bytes: int | None = None  # of the hypothetical index, when one was created
