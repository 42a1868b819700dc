"""Which series get a 1-minute rollup tier: those whose minutes hold enough samples.

A 1 m rollup row keeps five values (min, max, sum, count, last). For a 15 s series that is five
values per four samples: the tier took more bytes than the raw chunks it summarises, and reading
it cost more than reading those samples (docs/promql.md). The rule: a series gets the 1 m tier
when a minute holds at least ``MIN_SAMPLES`` samples at its typical interval, i.e. an interval of
at most 6 s (1 s and 5 s series keep the tier; 10 s, 15 s and slower series do not). Hour
rollups are written for every series (a 15 s series' hour holds 240 samples).

The interval is the median gap between a series' samples, measured by the rollup job the first
time one of its runs holds at least ``MIN_SAMPLES`` samples of the series, and recorded in
``series.interval_ms``; it is never changed, so the decision is stable (this rule is part of the
stored format: making it stricter is safe, loosening it needs the rollups of the series rebuilt).
A series not measured yet keeps the tier, as every series did before.

Readers (``read_rollup_current``) compute the minute buckets of a series without the tier from
its raw samples; stored 1 m rows of such a series win where they exist. They exist only where
they cannot be stale: rows written before the series was measured, in hours not recomputed since
(a recomputed hour drops them: :func:`drop_minute_rows`), and rows that retention writes from the
raw samples it is about to delete (:func:`keep_minutes`), so that ``minute_days`` still holds
minute buckets after ``raw_days``; after a retention run, a series without the tier has rows only
for buckets before the one after the raw cutoff.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.storage.engine import storage_errors
from core.storage.schema import chunks, head, rollup_1m, series
from core.storage.tsdb.read import _parts

MINUTE, DAY = 60_000, 86_400_000
MIN_SAMPLES = 10  # per 1 m bucket at the series' interval, for the tier to be written
MAX_INTERVAL_MS = MINUTE // MIN_SAMPLES  # 6 s


def has_minute_tier(interval_ms: int | None) -> bool:
    """The rule: unknown intervals keep the tier; known ones need MIN_SAMPLES per minute."""
    return interval_ms is None or interval_ms <= MAX_INTERVAL_MS


def intervals(conn: Connection) -> dict[int, int | None]:
    """Every series' recorded interval (None: not measured yet)."""
    q = sa.select(series.c.id, series.c.interval_ms).order_by(series.c.id)
    return {int(sid): (None if ms is None else int(ms)) for sid, ms in conn.execute(q)}


def without_minute_tier(conn: Connection, ids: Sequence[int]) -> list[int]:
    """Those of ``ids`` that have no 1 m tier (sorted)."""
    out: list[int] = []
    for part in _parts(ids):
        q = sa.select(series.c.id).where(series.c.id.in_(part), series.c.interval_ms > MAX_INTERVAL_MS)
        out.extend(int(sid) for sid in conn.execute(q).scalars())
    return sorted(out)


def measure(sid: np.ndarray, ts: np.ndarray, unknown: set[int]) -> dict[int, int]:
    """Median gap (ms, at least 1) of each series of ``unknown`` with MIN_SAMPLES samples among
    raw samples (series ids and times sorted by series and time, one per timestamp)."""
    if not unknown or not sid.size:
        return {}
    mask = np.isin(sid, np.fromiter(unknown, np.int64, len(unknown)))
    s, t = sid[mask], ts[mask]
    if not s.size:
        return {}
    starts = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1, s.size]
    found: dict[int, int] = {}
    for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
        if b - a >= MIN_SAMPLES:
            found[int(s[a])] = max(1, round(float(np.median(np.diff(t[a:b])))))
    return found


def record(conn: Connection, measured: dict[int, int]) -> None:
    """Store measured intervals of series that have none yet (a recorded one never changes)."""
    if not measured:
        return
    q = (
        sa.update(series)
        .where(series.c.id == sa.bindparam("sid"), series.c.interval_ms.is_(None))
        .values(interval_ms=sa.bindparam("ms"))
    )
    conn.execute(q, [{"sid": sid, "ms": ms} for sid, ms in measured.items()])  # one executemany


def drop_minute_rows(conn: Connection, ids: Sequence[int], lo: int, hi: int) -> None:
    """Remove 1 m rollup rows of ``ids`` in [lo, hi) from the row table and the packed chunks."""
    from core.storage.tsdb.rollup_chunks import drop

    for part in _parts(ids):
        drop(conn, MINUTE, part, lo, hi)


def _oldest_raw(conn: Connection, ids: list[int]) -> int | None:
    q = sa.select(sa.func.min(chunks.c.start_ts)).where(chunks.c.series_id.in_(ids))
    found = [conn.execute(q).scalar(), conn.execute(sa.select(sa.func.min(head.c.min_ts))).scalar()]
    known = [int(v) for v in found if v is not None]
    return min(known) if known else None


def keep_minutes(engine: Engine, raw_cut: int, minute_cut: int) -> int:
    """Before retention drops raw samples older than ``raw_cut``: write the 1 m rows (from
    ``minute_cut`` on) of series without the tier from those samples, so minute reads older than
    the raw retention answer as they did. Rows already stored win; rows of buckets that the raw
    samples kept still cover completely (from the bucket after ``raw_cut``'s) are dropped, as they
    are redundant (rows written before the series was measured, or before this version).
    Returns rows written."""
    from core.storage.tsdb.read import read_rollup
    from core.storage.tsdb.read_series import read_raw
    from core.storage.tsdb.rollup import stats_from_raw
    from core.storage.tsdb.rollup_chunks import drop, pack

    hi = -(-raw_cut // MINUTE) * MINUTE  # the bucket holding raw_cut is completed too
    written = 0
    with storage_errors("keeping minute rollups"):
        with engine.connect() as conn:
            bare = [sid for sid, ms in intervals(conn).items() if not has_minute_tier(ms)]
        for part in _parts(bare):
            with engine.begin() as conn:
                oldest = _oldest_raw(conn, part)
                if oldest is None:
                    continue
                day = max(oldest, minute_cut) // DAY * DAY
                for a in range(day, hi, DAY):  # day slices: pack() rewrites whole day chunks
                    b = min(a + DAY, hi)
                    fresh = stats_from_raw(read_raw(conn, part, a, b), MINUTE)
                    fresh = fresh.filter(pl.col("ts") >= minute_cut)
                    if fresh.is_empty():
                        continue
                    stored = read_rollup(conn, rollup_1m, part, a, a + DAY)
                    merged = pl.concat([fresh.cast(stored.schema), stored])  # stored rows win
                    merged = merged.unique(["series_id", "ts"], keep="last", maintain_order=True)
                    pack(conn, MINUTE, merged.sort("series_id", "ts"))
                    written += fresh.height
                drop(conn, MINUTE, part, hi, 2**62)  # rows the raw samples left still answer for
    return written
