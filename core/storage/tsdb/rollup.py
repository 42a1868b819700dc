"""Incremental rollups: only the buckets touched since the last run are recomputed.

Ingest marks each touched minute in ``rollup_dirty``. A run recomputes the whole hours holding
those minutes from raw data (so duplicates and late samples are exact): their minutes (of series
that keep the 1 m tier) and their hours, in memory, with numpy reductions (:mod:`stats`). Raw samples are read about ``SLICE_SAMPLES`` at a time
(whole hours, and groups of series when an hour holds more), so a day of 10,000 series at 15 s
(57.6M samples, 7.5 GB when read at once) takes a few hundred MB; the results are stored once per
day-long span, so the chunks they are packed into are written once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.storage.engine import begin_locked, storage_errors
from core.storage.schema import ROLLUPS, head, rollup_dirty
from core.storage.tsdb import stats, tiers
from core.storage.tsdb.read import RAW_SCHEMA, last_write_wins, read_rollup, rollup_schema
from core.storage.tsdb.read_series import read_raw, read_raw_arrays
from core.storage.tsdb.rollup_chunks import pack, packed_cutoff

MINUTE, HOUR = 60_000, 3_600_000
_SPAN = 24 * HOUR  # work in slices so memory stays bounded (a day: the 1 m chunk's span)
SLICE_SAMPLES = 1_000_000  # raw samples read at a time, about (and rollup rows held before storing)
_COLS = ("series_id", "ts", *stats.COLUMNS)


def stats_from_raw(raw: pl.DataFrame, width: int) -> pl.DataFrame:
    """min/max/sum/count/last per series and bucket of ``width`` ms; raw sorted by series, ts."""
    return stats.from_frame(raw, width)


def _minutes(
    sid: np.ndarray, ts: np.ndarray, value: np.ndarray, part: list[int], known: dict[int, int | None]
) -> pl.DataFrame:
    """1 m rows of the series that keep the 1 m tier (none for a 15 s series: :mod:`tiers`)."""
    tiered = np.array([s for s in part if tiers.has_minute_tier(known.get(s))], np.int64)
    if tiered.size < len(part):
        keep = np.isin(sid, tiered)
        sid, ts, value = sid[keep], ts[keep], value[keep]
    return stats.from_samples(sid, ts, value, MINUTE)


def _ranges(buckets: list[int], width: int) -> Iterator[tuple[int, int]]:
    """[lo, hi) spans of at most _SPAN covering the sorted buckets; gaps inside a span are
    recomputed too (they yield no rows), so sparse dirty minutes cost one pass, not one each."""
    lo = hi = None
    for b in buckets:
        if lo is not None and b + width - lo <= _SPAN:
            hi = b + width
            continue
        if lo is not None and hi is not None:
            yield lo, hi
        lo, hi = b, b + width
    if lo is not None and hi is not None:
        yield lo, hi


def _write(conn: Connection, table: sa.Table, df: pl.DataFrame) -> None:
    if df.is_empty():
        return
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in _COLS[2:])
    cols = ", ".join(f'"{c}"' for c in _COLS)
    sql = (
        f"INSERT INTO {table.name} ({cols}) VALUES ({', '.join([mark] * len(_COLS))}) "
        f"ON CONFLICT (series_id, ts) DO UPDATE SET {sets}"
    )
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.executemany(sql, df.select(_COLS).rows())
    cur.close()


def _dirty(conn: Connection, resolution: int) -> list[int]:
    q = (
        sa.select(rollup_dirty.c.bucket)
        .where(rollup_dirty.c.resolution == resolution)
        .order_by(rollup_dirty.c.bucket)
    )
    return list(conn.execute(q).scalars())


def _clear(conn: Connection, resolution: int, lo: int, hi: int) -> None:
    d = rollup_dirty.c
    conn.execute(sa.delete(rollup_dirty).where(d.resolution == resolution, d.bucket >= lo, d.bucket < hi))


def _store(conn: Connection, resolution: int, stats: pl.DataFrame, pack_before: int | None) -> None:
    """Write rollup rows; those of spans wholly before ``pack_before`` go straight into chunks."""
    if pack_before is not None:
        cutoff = packed_cutoff(resolution, pack_before)
        pack(conn, resolution, stats.filter(pl.col("ts") < cutoff))
        stats = stats.filter(pl.col("ts") >= cutoff)
    _write(conn, ROLLUPS[resolution], stats)


def run_rollups(
    engine: Engine,
    pack_before: int | None = None,
    lock: AbstractContextManager[object] | None = None,
    max_samples: int = SLICE_SAMPLES,
) -> int:
    """Recompute the hours that hold dirty minutes, and their minutes, from raw samples.

    Whole hours are recomputed, so an hour's row always covers all its samples.
    Series without a 1 m tier (:mod:`tiers`) get no minute rows: their rows in the recomputed
    hours are dropped instead (they could be stale). Intervals not known yet are measured here.
    With ``pack_before``, results older than it go directly into rollup chunks (a backfill then
    never writes rows only to pack them again). Raw samples are read about ``max_samples`` at a
    time (:func:`_slices`), in the one transaction of each span. Returns rollup rows computed.
    """
    written = 0
    with storage_errors("computing rollups"):
        with engine.connect() as conn:
            minutes = _dirty(conn, MINUTE)
            known = tiers.intervals(conn)
        ids = list(known)
        hours = sorted({m - m % HOUR for m in minutes})
        for lo, hi in _ranges(hours, HOUR):
            with begin_locked(engine, lock) as conn:
                done: list[tuple[pl.DataFrame, pl.DataFrame]] = []  # (minutes, hours) per slice
                for part, a, b in _slices(conn, ids, known, lo, hi, max_samples):
                    sid, ts, value = read_raw_arrays(conn, part, a, b)
                    measured = tiers.measure(sid, ts, {s for s in part if known.get(s) is None})
                    tiers.record(conn, measured)
                    known.update(measured)
                    done.append(
                        (_minutes(sid, ts, value, part, known), stats.from_samples(sid, ts, value, HOUR))
                    )
                    if sum(m.height + h.height for m, h in done) >= max_samples:
                        written += _store_all(conn, done, known, lo, hi, pack_before)
                        done = []
                written += _store_all(conn, done, known, lo, hi, pack_before)
                _clear(conn, MINUTE, lo, hi)
    return written


def _slices(
    conn: Connection, ids: list[int], known: dict[int, int | None], lo: int, hi: int, max_samples: int
) -> Iterator[tuple[list[int], int, int]]:
    """(series, start, end) to read for [lo, hi): whole hours, as many as hold about
    ``max_samples`` raw samples, and groups of series when one hour holds more. The count is
    estimated from the head blocks overlapping the span and the series' known intervals."""
    q = sa.select(sa.func.coalesce(sa.func.sum(head.c.n), 0)).where(head.c.max_ts >= lo, head.c.min_ts < hi)
    in_head = int(conn.execute(q).scalar() or 0)
    by_interval = sum((hi - lo) // ms for ms in known.values() if ms)
    per_hour = max(in_head, by_interval) * HOUR / (hi - lo)
    step = max(1, min((hi - lo) // HOUR, int(max_samples // max(per_hour, 1.0)))) * HOUR
    groups = max(1, min(len(ids), -(-int(per_hour * step / HOUR) // max_samples)))
    size = -(-len(ids) // groups) if ids else 1
    for a in range(lo, hi, step):
        for i in range(0, len(ids), size):
            yield ids[i : i + size], a, min(a + step, hi)


def _store_all(
    conn: Connection,
    done: list[tuple[pl.DataFrame, pl.DataFrame]],
    known: dict[int, int | None],
    lo: int,
    hi: int,
    pack_before: int | None,
) -> int:
    """Store the slices' rows (sorted by series and time): minute rows only of series with the
    1 m tier, whose other rows in [lo, hi) are dropped. Returns rows stored."""
    if not done:
        return 0
    by_minute = pl.concat([m for m, _ in done]).sort("series_id", "ts")
    by_hour = pl.concat([h for _, h in done]).sort("series_id", "ts")
    present = by_hour["series_id"].unique().to_list()
    bare = [sid for sid in present if not tiers.has_minute_tier(known.get(sid))]
    if bare:
        tiers.drop_minute_rows(conn, bare, lo, hi)
        by_minute = by_minute.filter(~pl.col("series_id").is_in(bare))
    _store(conn, MINUTE, by_minute, pack_before)
    _store(conn, HOUR, by_hour, pack_before)
    return by_minute.height + by_hour.height


def read_rollup_current(
    conn: Connection, width: int, ids: list[int], start: int, end: int, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """Rollup rows of [start, end) that include samples not rolled up yet.

    Hours holding dirty minutes (and everything after them) are computed from raw on the fly,
    so a query never misses the newest samples while it waits for the next rollup run. Minute
    buckets of series without a 1 m tier (:mod:`tiers`) are computed from raw over the whole
    range; their stored rows (only where raw samples may be gone) win before the dirty hours.
    ``columns``: the value columns wanted (default all), as in :func:`read_rollup`.
    """
    q = sa.select(sa.func.min(rollup_dirty.c.bucket)).where(rollup_dirty.c.resolution == MINUTE)
    dirty = conn.execute(q).scalar()
    cut = end if dirty is None or dirty >= end else max(start, dirty - dirty % HOUR)
    bare = tiers.without_minute_tier(conn, ids) if width == MINUTE else []
    if not bare:
        return _rolled_up(conn, width, ids, start, end, cut, columns)
    schema = rollup_schema(columns)
    skip = set(bare)
    tiered = [sid for sid in ids if sid not in skip]
    frames = [_rolled_up(conn, width, tiered, start, end, cut, columns)] if tiered else []
    frames += _bare(conn, width, bare, start, end, cut, columns)
    return last_write_wins([f.cast(schema) for f in frames], schema)  # type: ignore[arg-type]


def _bare(
    conn: Connection,
    width: int,
    ids: list[int],
    start: int,
    end: int,
    cut: int,
    columns: Sequence[str] | None,
) -> list[pl.DataFrame]:
    """What :func:`_rolled_up` gives, for series without stored rows: before ``cut``, whole
    buckets starting in [start, cut) from raw samples (stored rows win: frames later in the list
    win); from ``cut``, raw samples of [cut, end), as there."""
    whole = -(-start // width) * width if cut > start else start
    sid, t, v = read_raw_arrays(conn, ids, whole, max(-(-cut // width) * width, end))  # as read_raw
    raw = pl.DataFrame({"series_id": sid, "ts": t, "value": v}, schema=RAW_SCHEMA)
    ts, names = pl.col("ts"), list(rollup_schema(columns))
    frames = []
    if cut > start:
        frames.append(stats_from_raw(raw.filter(ts < -(-cut // width) * width), width).select(names))
    if cut < end:
        frames.append(stats_from_raw(raw.filter((ts >= cut) & (ts < end)), width).select(names))
    if cut > start:
        frames.append(read_rollup(conn, ROLLUPS[width], ids, start, cut, columns))
    return frames


def _rolled_up(
    conn: Connection,
    width: int,
    ids: list[int],
    start: int,
    end: int,
    cut: int,
    columns: Sequence[str] | None,
) -> pl.DataFrame:
    """Stored rows before ``cut`` (the first dirty hour, or ``end``), rows from raw after it."""
    table = ROLLUPS[width]
    if cut >= end:
        return read_rollup(conn, table, ids, start, end, columns)
    done = read_rollup(conn, table, ids, start, cut, columns) if cut > start else None
    fresh = stats_from_raw(read_raw(conn, ids, cut, end), width).select(list(rollup_schema(columns)))
    return fresh if done is None else pl.concat([done, fresh.cast(done.schema)]).sort("series_id", "ts")
