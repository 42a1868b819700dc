"""Index advice for a PostgreSQL database: slow statements -> candidate indexes -> each checked
with a hypothetical index (HypoPG) as the planner's cost before and after -> the ones that cut it
enough, with their evidence and risks.

The planner (``collectors.postgres_planner.PostgresPlanner`` on a real database) is passed in;
this module parses, chooses and weighs, it runs no SQL itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from pydantic import Field

from core.kernel.errors import CollectorError
from core.kernel.pgadvice import PlanCost, Statement, TableStats
from core.optimization.index_candidates import candidates, covering, ddl, overlapping
from core.optimization.settings import Section
from core.optimization.sql_columns import NotAdvisable, TableUse, table_uses

IndexRiskKind = Literal["write_amplification", "index_size", "overlapping_index", "many_indexes"]


class IndexAdviceSettings(Section):
    """Which statements are examined and how much an index must help to be recommended."""

    statements_limit: int = Field(50, ge=1, le=1000, description="Statements read (top total time)")
    min_calls: int = Field(5, ge=1, le=10**9, description="Statements called fewer times are ignored")
    min_mean_ms: float = Field(
        1.0, ge=0, le=10**6, description="Statements faster on average are ignored (ms)"
    )
    min_cost_cut: float = Field(
        0.5, ge=0.05, le=0.99, description="Share of the planner's cost an index must cut to be recommended"
    )
    max_columns: int = Field(3, ge=1, le=8, description="Key columns of a candidate index at most")
    write_ratio: float = Field(
        1.0,
        ge=0,
        le=10**6,
        description="Rows written to the table per call of its statements above which writes are a risk",
    )
    size_ratio: float = Field(
        0.3, ge=0, le=10, description="Index size relative to its table above which size is a risk"
    )
    max_indexes: int = Field(
        6, ge=1, le=100, description="Existing indexes on the table above which another is a risk"
    )


class Planner(Protocol):
    def statements(self, limit: int) -> list[Statement]: ...
    def table(self, name: str) -> TableStats | None: ...
    def cost(self, query: str, index_ddl: str | None = None) -> PlanCost: ...


@dataclass(frozen=True)
class IndexRisk:
    kind: IndexRiskKind
    detail: str


@dataclass(frozen=True)
class IndexAdvice:
    """One statement's finding: an index with its estimated gain, or none with the reason."""

    statement: Statement
    table: str = ""
    columns: tuple[str, ...] = ()
    ddl: str = ""
    cost_before: float | None = None
    cost_after: float | None = None
    index_size_bytes: int | None = None
    table_size_bytes: int | None = None
    table_writes: int | None = None
    risks: tuple[IndexRisk, ...] = ()
    reason: str = ""
    tried: int = 0  # candidates checked with HypoPG

    @property
    def recommended(self) -> bool:
        return bool(self.ddl)

    @property
    def cost_cut(self) -> float | None:
        if self.cost_before and self.cost_after is not None:
            return 1.0 - self.cost_after / self.cost_before
        return None

    def row(self) -> dict[str, Any]:
        s = self.statement
        return {
            "status": "ok" if self.recommended else "none",
            "table": self.table,
            "columns": ",".join(self.columns),
            "ddl": self.ddl,
            "queryid": str(s.queryid),
            "query": s.query,
            "calls": s.calls,
            "mean_ms": s.mean_ms,
            "total_ms": s.total_ms,
            "rows": s.rows,
            "cost_before": self.cost_before,
            "cost_after": self.cost_after,
            "cost_cut": self.cost_cut,
            "index_size_bytes": self.index_size_bytes,
            "table_size_bytes": self.table_size_bytes,
            "table_writes": self.table_writes,
            "candidates_checked": self.tried,
            "risks": ",".join(r.kind for r in self.risks),
            "risk_details": "; ".join(r.detail for r in self.risks),
            "reason": self.reason,
        }


def advise(planner: Planner, settings: IndexAdviceSettings | None = None) -> list[IndexAdvice]:
    """One finding per slow SELECT (recommended first, by the time they would save)."""
    s = settings or IndexAdviceSettings()
    tables: dict[str, TableStats | None] = {}

    def resolve(schema: str | None, name: str) -> tuple[str, dict[str, str]] | None:
        key = ".".join(_quote(p) for p in (schema, name) if p)
        if key not in tables:
            tables[key] = planner.table(key)
        t = tables[key]
        return None if t is None else (t.schema, t.columns)

    out = []
    for st in planner.statements(s.statements_limit):
        if st.calls < s.min_calls or st.mean_ms < s.min_mean_ms:
            continue
        try:
            uses = table_uses(st.query, resolve)
        except NotAdvisable as exc:
            out.append(IndexAdvice(st, reason=str(exc)))
            continue
        by_name = {(t.schema, t.name): t for t in tables.values() if t is not None}
        try:
            out.append(_check(planner, st, [(u, by_name[(u.schema, u.table)]) for u in uses], s))
        except CollectorError as exc:  # this statement cannot be planned here: say so, go on
            out.append(IndexAdvice(st, reason=f"not planned: {exc}"))
    return sorted(out, key=lambda a: (not a.recommended, -(a.cost_cut or 0) * a.statement.total_ms))


def _check(
    planner: Planner, st: Statement, uses: list[tuple[TableUse, TableStats]], s: IndexAdviceSettings
) -> IndexAdvice:
    if not uses:
        return IndexAdvice(st, reason="no column of a table is filtered, joined or sorted on")
    before = planner.cost(st.query).cost
    tried: list[tuple[float, TableStats, tuple[str, ...], PlanCost]] = []
    covered = []
    for use, table in uses:
        for cols in candidates(use, s.max_columns):
            if (ix := covering(cols, table)) is not None:
                covered.append(f"{table.name}({','.join(cols)}) by {ix.name}")
                continue
            plan = planner.cost(st.query, ddl(table, cols))
            if any(name.startswith("<") for name in plan.indexes_used):  # HypoPG's "<oid>btree_..."
                tried.append((plan.cost, table, cols, plan))
    if not tried:
        why = "the planner used no candidate index"
        return IndexAdvice(
            st,
            cost_before=before,
            reason=why + (f" (already covered: {'; '.join(covered)})" if covered else ""),
        )
    best = min(c for c, *_ in tried)
    # the narrowest candidate within 10 % of the best: cheaper to write and to keep
    cost, table, cols, plan = min((t for t in tried if t[0] <= best * 1.1), key=lambda t: (len(t[2]), t[0]))
    found = IndexAdvice(st, table=table.qualified, cost_before=before, cost_after=cost, tried=len(tried))
    if before <= 0 or 1 - cost / before < s.min_cost_cut:
        cut = 0.0 if before <= 0 else 1 - cost / before
        return replace(
            found,
            reason=f"the best candidate ({','.join(cols)}) cuts the cost by {cut:.0%} only, below {s.min_cost_cut:.0%}",
        )
    return replace(
        found,
        columns=cols,
        ddl=ddl(table, cols, concurrently=True),
        index_size_bytes=plan.hypothetical_size_bytes,
        table_size_bytes=table.size_bytes,
        table_writes=table.writes,
        risks=tuple(_risks(st, table, cols, plan.hypothetical_size_bytes or 0, s)),
    )


def _risks(
    st: Statement, table: TableStats, cols: tuple[str, ...], size: int, s: IndexAdviceSettings
) -> list[IndexRisk]:
    out = []
    if table.writes > s.write_ratio * max(st.calls, 1):
        out.append(
            IndexRisk(
                "write_amplification",
                f"{table.writes} rows written to {table.name} against {st.calls} calls of the statement: every write also updates the index",
            )
        )
    if table.size_bytes and size > s.size_ratio * table.size_bytes:
        out.append(
            IndexRisk(
                "index_size",
                f"estimated {size / 2**20:.1f} MiB, {size / table.size_bytes:.0%} of the table's {table.size_bytes / 2**20:.1f} MiB",
            )
        )
    for ix in overlapping(cols, table):
        what = (
            "would become redundant (its keys lead the new one)"
            if cols[: len(ix.columns)] == ix.columns
            else "shares the leading column"
        )
        out.append(
            IndexRisk("overlapping_index", f"{ix.name} ({','.join(ix.columns)}, {ix.scans} scans) {what}")
        )
    if len(table.indexes) >= s.max_indexes:
        out.append(IndexRisk("many_indexes", f"{table.name} already has {len(table.indexes)} indexes"))
    return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
