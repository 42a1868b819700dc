"""Compaction of older rollup rows into compressed per-series chunks (and reading them back).

A rollup row costs ~40 bytes in a B-tree; a day of 1 m rows of one series packed with the chunk
codec costs a few hundred bytes. Rows newer than the cutoff stay rows, because late samples can
still recompute them; a row recomputed after its window was packed is merged on the next run,
and reads merge chunks and rows meanwhile (rows win). The cutoff moves a day at a time for both
resolutions: an hour chunk spans a week but is written as soon as its first day is stable and
rewritten as the days fill it, so at most a day of rows (plus the out-of-order window) stays in
the row tables instead of up to a week of 1 h rows, whose row-by-row fetch dominated long reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.storage.engine import begin_locked, storage_errors
from core.storage.schema import ROLLUPS, rollup_chunks
from core.storage.tsdb import stats
from core.storage.tsdb.chunks import decode_tables
from core.storage.tsdb.chunks_many import encode_segments
from core.storage.tsdb.overlap import overlapping
from core.storage.tsdb.read import rollup_rows
from core.storage.upsert import upsert

HOUR, DAY = 3_600_000, 86_400_000
WIDTH = {60_000: DAY, 3_600_000: 7 * DAY}  # chunk span per resolution: 1440 and 168 rows
PACK_STEP = DAY  # the cutoff's granularity: partly filled hour chunks are packed too
VALUES = stats.COLUMNS  # a chunk packed before first/first_ts were kept has the first five
SCHEMA = stats.SCHEMA


def _encode_rows(frame: pl.DataFrame, width: int) -> list[dict[str, object]]:
    if frame.is_empty():
        return []
    sids, ts_all = frame["series_id"].to_numpy(), frame["ts"].to_numpy()
    cols = [frame[c].to_numpy().astype(np.float64) for c in VALUES]
    starts = ts_all - ts_all % width
    bounds = np.r_[0, np.flatnonzero((np.diff(sids) != 0) | (np.diff(starts) != 0)) + 1, sids.size]
    firsts, lasts = bounds[:-1], bounds[1:] - 1
    blobs = encode_segments(ts_all, cols, bounds)
    return [
        {"series_id": sid, "start_ts": start, "end_ts": end, "n": n, "data": blob}
        for sid, start, end, n, blob in zip(
            sids[firsts].tolist(),
            starts[firsts].tolist(),
            ts_all[lasts].tolist(),
            np.diff(bounds).tolist(),
            blobs,
            strict=True,
        )
    ]


def decode_many(
    chunks: Sequence[tuple[int, bytes]],
    start: int | None = None,
    end: int | None = None,
    columns: Sequence[str] = VALUES,
) -> pl.DataFrame:
    """Rollup rows of many chunks as one frame, in chunk order (decoded together, one DataFrame).

    ``columns``: the value columns wanted (of ``VALUES``); the frame has them in SCHEMA order.
    """
    names = [c for c in VALUES if c in columns]
    schema = {"series_id": pl.Int64, "ts": pl.Int64, **{c: SCHEMA[c] for c in names}}
    if not chunks:
        return pl.DataFrame(schema=schema)
    keep = [VALUES.index(c) for c in names]
    counts, ts, cols = decode_tables([blob for _, blob in chunks], len(VALUES), keep)
    sids = np.repeat(np.fromiter((sid for sid, _ in chunks), np.int64, len(chunks)), counts)
    arrays = [sids, ts, *cols]
    if start is not None or end is not None:
        inside = np.ones(ts.size, bool)
        if start is not None:
            inside &= ts >= start
        if end is not None:
            inside &= ts < end
        arrays = [a[inside] for a in arrays]
    frame = pl.DataFrame(dict(zip(schema, arrays, strict=True)))
    return frame.with_columns(pl.col("count").cast(pl.Int64)) if "count" in names else frame


def read_chunks(
    conn: Connection,
    resolution: int,
    ids: Sequence[int],
    start: int,
    end: int,
    columns: Sequence[str] = VALUES,
) -> list[pl.DataFrame]:
    q = overlapping(conn.dialect.name, ("series_id", "data"), rollup=True)
    found: list[tuple[int, bytes]] = []
    for i in range(0, len(ids), 500):
        part = {"resolution": resolution, "ids": list(ids[i : i + 500]), "start": start, "end": end}
        found.extend((sid, blob) for sid, blob in conn.execute(q, part))
    return [decode_many(found, start, end, columns)] if found else []


def pack(conn: Connection, resolution: int, fresh: pl.DataFrame) -> int:
    """Merge rollup rows (SCHEMA columns) into the chunks of their spans; returns chunks written.

    Rows of the same span still in the rollup table would win on read, so they go, into the
    chunk (fresh rows win over them): the span starts before ``fresh`` (a whole day or week),
    and its other rows must not be lost.
    """
    if fresh.is_empty():
        return 0
    table, width, c = ROLLUPS[resolution], WIDTH[resolution], rollup_chunks.c
    ids = fresh["series_id"].unique().to_list()
    ts = fresh["ts"].to_numpy()
    lo, hi = int(ts.min()) // width * width, int(ts.max()) + 1
    old_q = sa.select(c.series_id, c.data).where(
        c.resolution == resolution, c.series_id.in_(ids), c.start_ts >= lo, c.start_ts < hi
    )
    old = decode_many([(sid, blob) for sid, blob in conn.execute(old_q)])
    # rows of the span still in the row table go into the chunk too: they are deleted below
    rows_q = sa.select(*[table.c[n] for n in SCHEMA]).where(
        table.c.series_id.in_(ids), table.c.ts >= lo, table.c.ts < hi
    )
    rows = rollup_rows(conn.execute(rows_q).all(), SCHEMA)
    merged = pl.concat([old, rows, fresh.select(list(SCHEMA))]).unique(
        ["series_id", "ts"], keep="last", maintain_order=True
    )
    new = [{"resolution": resolution, **r} for r in _encode_rows(merged.sort("series_id", "ts"), width)]
    upsert(conn, rollup_chunks, new, ["resolution", "series_id", "start_ts"])
    conn.execute(sa.delete(table).where(table.c.series_id.in_(ids), table.c.ts >= lo, table.c.ts < hi))
    return len(new)


def drop(conn: Connection, resolution: int, ids: Sequence[int], lo: int, hi: int) -> None:
    """Remove rollup rows of ``ids`` with lo <= ts < hi, from the row table and from the chunks
    (chunks overlapping the span are re-encoded without them, or deleted when nothing is left)."""
    table, c = ROLLUPS[resolution], rollup_chunks.c
    ids = list(ids)
    conn.execute(sa.delete(table).where(table.c.series_id.in_(ids), table.c.ts >= lo, table.c.ts < hi))
    where = [c.resolution == resolution, c.series_id.in_(ids), c.end_ts >= lo, c.start_ts < hi]
    found = conn.execute(sa.select(c.series_id, c.data).where(*where)).all()
    if not found:
        return
    rows = decode_many([(sid, blob) for sid, blob in found])
    rest = rows.filter((pl.col("ts") < lo) | (pl.col("ts") >= hi)).sort("series_id", "ts")
    conn.execute(sa.delete(rollup_chunks).where(*where))
    if not rest.is_empty():
        new = [{"resolution": resolution, **r} for r in _encode_rows(rest, WIDTH[resolution])]
        upsert(conn, rollup_chunks, new, ["resolution", "series_id", "start_ts"])


def _compact_group(conn: Connection, resolution: int, ids: list[int], cutoff: int) -> int:
    table = ROLLUPS[resolution]
    q = sa.select(*[table.c[n] for n in SCHEMA]).where(table.c.series_id.in_(ids), table.c.ts < cutoff)
    rows = conn.execute(q).all()
    return pack(conn, resolution, rollup_rows(rows, SCHEMA)) if rows else 0


def packed_cutoff(resolution: int, stable_before_ms: int) -> int:
    """Rows before this time are packed: whole days that end before ``stable_before_ms`` (whole
    chunk spans at 1 m; the days so far of the current week's chunk at 1 h)."""
    assert WIDTH[resolution] % PACK_STEP == 0
    return stable_before_ms - stable_before_ms % PACK_STEP


def compact_rollups(
    engine: Engine, ids: list[int], stable_before_ms: int, lock: AbstractContextManager[object] | None = None
) -> int:
    """Pack rollup rows of whole days that end before ``stable_before_ms`` into their chunks."""
    written = 0
    with storage_errors("compacting rollups"):
        for resolution in WIDTH:
            cutoff = packed_cutoff(resolution, stable_before_ms)
            for i in range(0, len(ids), 200):
                with begin_locked(engine, lock) as conn:
                    written += _compact_group(conn, resolution, ids[i : i + 200], cutoff)
    return written
