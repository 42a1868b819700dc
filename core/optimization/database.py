"""Every database finding of one PostgreSQL database as flat rows: index advice for its slow
statements (``index_advice``), then unused and redundant indexes, vacuums and sequential-scan-heavy
tables (``db_hygiene``). ``status`` says which kind a row is."""

from __future__ import annotations

from typing import Protocol

import polars as pl

from core.kernel.pgadvice import TableStats
from core.optimization.db_hygiene import HygieneSettings, findings
from core.optimization.index_advice import IndexAdviceSettings, Planner, advise


class DatabasePlanner(Planner, Protocol):
    def tables(self, limit: int) -> list[TableStats]: ...


def database_frame(
    planner: DatabasePlanner,
    advice: IndexAdviceSettings | None = None,
    hygiene: HygieneSettings | None = None,
) -> pl.DataFrame:
    h = hygiene or HygieneSettings()
    rows = [a.row() for a in advise(planner, advice)]
    rows += findings(planner.tables(h.tables_limit), h)
    if not rows:
        return pl.DataFrame({"status": []}, schema={"status": pl.Utf8})
    return pl.DataFrame(rows, infer_schema_length=None)
