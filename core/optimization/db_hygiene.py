"""Database findings that need no statement: indexes never scanned, indexes another one makes
redundant, tables with many dead rows (vacuum), and tables read mostly by sequential scans."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.kernel.pgadvice import ExistingIndex, TableStats
from core.optimization.settings import Section

MIB = float(1 << 20)


class HygieneSettings(Section):
    tables_limit: int = Field(200, ge=1, le=10_000, description="Largest tables examined")
    unused_min_mib: float = Field(
        1.0, ge=0, le=10**6, description="Unused indexes smaller than this are ignored (MiB)"
    )
    dead_ratio: float = Field(
        0.2, ge=0.01, le=10, description="Dead rows per live row above which a vacuum is advised"
    )
    dead_min_rows: int = Field(
        1000, ge=0, le=10**12, description="Dead rows below which no vacuum is advised"
    )
    seq_rows_per_scan: int = Field(
        10_000, ge=1, le=10**12, description="Rows read per sequential scan above which scans are heavy"
    )
    seq_min_scans: int = Field(
        100, ge=1, le=10**12, description="Sequential scans below which a table is not flagged"
    )


def findings(tables: list[TableStats], s: HygieneSettings | None = None) -> list[dict[str, Any]]:
    """One row per finding: ``status`` (its kind), ``table``, ``ddl`` (what to run), ``reason``."""
    s = s or HygieneSettings()
    out: list[dict[str, Any]] = []
    for t in tables:
        out += _redundant(t)
        for ix in t.indexes:
            if ix.scans == 0 and not ix.unique and ix.valid and ix.size_bytes >= s.unused_min_mib * MIB:
                out.append(
                    _row(
                        "unused_index",
                        t,
                        f"DROP INDEX CONCURRENTLY {_q(t.schema)}.{_q(ix.name)}",
                        ix,
                        f"{ix.name} was never scanned since the statistics were reset; it costs {ix.size_bytes / MIB:.1f} MiB and every write to {t.name}",
                    )
                )
        if t.dead_rows >= s.dead_min_rows and t.dead_rows > s.dead_ratio * max(t.live_rows, 1):
            out.append(
                _row(
                    "vacuum",
                    t,
                    f"VACUUM (ANALYZE) {_q(t.schema)}.{_q(t.name)}",
                    None,
                    f"{t.dead_rows} dead rows against {t.live_rows} live: autovacuum is behind or off",
                )
            )
        if (
            t.seq_scans >= s.seq_min_scans
            and t.seq_rows_read / t.seq_scans > s.seq_rows_per_scan
            and t.seq_scans > t.idx_scans
        ):
            out.append(
                _row(
                    "seq_scans",
                    t,
                    "",
                    None,
                    f"{t.seq_scans} sequential scans reading {t.seq_rows_read / t.seq_scans:,.0f} rows each on average, against {t.idx_scans} index scans: see the index advice of its statements",
                )
            )
    return out


def _redundant(t: TableStats) -> list[dict[str, Any]]:
    """Non-unique plain indexes whose keys equal or lead another valid plain index's keys."""
    plain = [ix for ix in t.indexes if ix.valid and not ix.partial and ix.columns and "" not in ix.columns]
    out = []
    for ix in plain:
        if ix.unique:
            continue
        for other in plain:
            same = other.columns == ix.columns
            if (
                other is ix
                or other.columns[: len(ix.columns)] != ix.columns
                or (same and not other.unique and other.name > ix.name)
            ):
                continue  # of two equal non-unique indexes, the one with the larger name is the duplicate
            what = "duplicates" if same else "is a prefix of"
            out.append(
                _row(
                    "duplicate_index",
                    t,
                    f"DROP INDEX CONCURRENTLY {_q(t.schema)}.{_q(ix.name)}",
                    ix,
                    f"{ix.name} ({','.join(ix.columns)}) {what} {other.name} ({','.join(other.columns)}), which serves the same lookups",
                )
            )
            break
    return out


def _row(kind: str, t: TableStats, ddl: str, ix: ExistingIndex | None, reason: str) -> dict[str, Any]:
    return {
        "status": kind,
        "table": t.qualified,
        "columns": ",".join(ix.columns) if ix else "",
        "ddl": ddl,
        "index_size_bytes": ix.size_bytes if ix else None,
        "table_size_bytes": t.size_bytes,
        "table_writes": t.writes,
        "reason": reason,
    }


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
