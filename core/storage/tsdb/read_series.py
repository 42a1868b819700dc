"""Raw samples of many series as one numpy pair per series, for the PromQL engine.

:func:`read_raw` builds polars frames per chunk and merges them with a sort over every sample,
which is what a long range query paid most of its time for. Here chunks arrive ordered by series
and start, are cut to the range with ``searchsorted`` (they are sorted), and concatenated per
series; only a series that also has samples in the head blocks, or whose chunks overlap (a late
write compacted after its neighbours), is sorted, and a (series, ts) written twice keeps its
last write, as :func:`read_raw` does. Stale markers are dropped, as there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.storage.schema import head
from core.storage.tsdb.chunk_cache import decode_chunks
from core.storage.tsdb.overlap import overlapping
from core.storage.tsdb.read import _parts, head_rows, is_stale

SeriesArrays = dict[int, tuple[np.ndarray, np.ndarray]]
_EMPTY_TS, _EMPTY_V = np.zeros(0, np.int64), np.zeros(0, np.float64)


def _cut(ts: np.ndarray, values: np.ndarray, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted samples with start <= ts < end."""
    lo, hi = np.searchsorted(ts, start, "left"), np.searchsorted(ts, end, "left")
    return ts[lo:hi], values[lo:hi]


def _last_write_wins(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted by time; of samples with equal timestamps the one written last (later in input)."""
    if ts.size < 2 or bool(np.all(ts[1:] > ts[:-1])):
        return ts, values
    order = np.argsort(ts, kind="stable")
    ts, values = ts[order], values[order]
    last = np.ones(ts.size, dtype=bool)
    last[:-1] = ts[1:] != ts[:-1]
    return ts[last], values[last]


def _chunk_pieces(
    conn: Connection, ids: Sequence[int], start: int, end: int, intervals: Sequence[tuple[int, int]] | None
) -> dict[int, list[tuple]]:
    """Samples of the chunks overlapping [start, end) per series, in chunk order (decoded through
    the process' chunk cache; the misses together, one numpy pass per chunk layout)."""
    bounds = _bounds(intervals) if intervals is not None else None
    sids: list[int] = []
    blobs: list[bytes] = []
    q = overlapping(conn.dialect.name, ("series_id", "start_ts", "end_ts", "data"), ordered=True)
    for part in _parts(ids):
        for sid, first, last, blob in conn.execute(q, {"ids": part, "start": start, "end": end}):
            if bounds is not None and not _overlaps(np.array([first]), np.array([last]), bounds)[0]:
                continue
            sids.append(int(sid))
            blobs.append(blob)
    pieces: dict[int, list[tuple]] = {}
    for sid, decoded in zip(sids, decode_chunks(blobs), strict=True):
        ts, values = _cut(*decoded, start, end)
        if ts.size:
            pieces.setdefault(sid, []).append((ts, values))
    return pieces


def _head_pieces(conn: Connection, ids: Sequence[int], start: int, end: int) -> dict[int, list[tuple]]:
    sids_l, ts_l, val_l = [], [], []
    for block_sids, block_ts, block_values in head_rows(conn, ids, start, end):
        sids_l.append(block_sids)
        ts_l.append(block_ts)
        val_l.append(block_values)
    if not sids_l:
        return {}
    sids, ts, values = np.concatenate(sids_l), np.concatenate(ts_l), np.concatenate(val_l)
    order = np.argsort(sids, kind="stable")  # keeps write order within a series
    sids, ts, values = sids[order], ts[order], values[order]
    cuts = np.flatnonzero(np.diff(sids)) + 1
    bounds = zip(np.r_[0, cuts].tolist(), np.r_[cuts, sids.size].tolist(), strict=True)
    return {int(sids[a]): [(ts[a:b], values[a:b])] for a, b in bounds}


def read_series_arrays(
    conn: Connection,
    ids: Sequence[int],
    start: int,
    end: int,
    intervals: Sequence[tuple[int, int]] | None = None,
) -> SeriesArrays:
    """Samples with start <= ts < end of each of ``ids`` that has any: sid -> (int64 ts, float64 values).

    With ``intervals`` (sorted, disjoint, closed), only chunks overlapping one of them are read:
    every sample inside the intervals is returned, others may be.
    """
    from_chunks = _chunk_pieces(conn, ids, start, end, intervals)
    from_head = _head_pieces(conn, ids, start, end)
    sid_l: list[int] = []
    ts_l: list[np.ndarray] = []
    val_l: list[np.ndarray] = []
    for sid in dict.fromkeys(ids):  # chunks first, then head blocks in write order: last write wins
        for ts, values in from_chunks.get(sid, []) + from_head.get(sid, []):
            sid_l.append(sid)
            ts_l.append(ts)
            val_l.append(values)
    if not ts_l:
        return {}
    # every series at once: most reads are sorted, without duplicates or stale markers
    ts_all = np.concatenate(ts_l).astype(np.int64, copy=False)
    val_all = np.concatenate(val_l).astype(np.float64, copy=False)
    sids = np.repeat(np.asarray(sid_l, np.int64), [t.size for t in ts_l])
    cuts = np.flatnonzero(sids[1:] != sids[:-1]) + 1
    firsts, stops = np.r_[0, cuts], np.r_[cuts, sids.size]
    unordered = (ts_all[1:] <= ts_all[:-1]) & (sids[1:] == sids[:-1])
    redo = set(sids[1:][unordered].tolist()) | set(sids[is_stale(val_all)].tolist())
    out: SeriesArrays = {}
    for sid, a, b in zip(sids[firsts].tolist(), firsts.tolist(), stops.tolist(), strict=True):
        ts, values = ts_all[a:b], val_all[a:b]
        if sid in redo:
            ts, values = _last_write_wins(ts, values)
            stale = is_stale(values)
            ts, values = ts[~stale], values[~stale]
            if not ts.size:
                continue
        out[sid] = (ts, values)
    return out


def _bounds(intervals: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    lows = np.array([a for a, _ in intervals], dtype=np.int64)
    return lows, np.array([b for _, b in intervals], dtype=np.int64)


def _overlaps(starts: np.ndarray, ends: np.ndarray, bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Which [starts, ends] (closed) overlap any of the sorted, disjoint closed intervals ``bounds``."""
    lows, highs = bounds
    if lows.size == 0:
        return np.zeros(starts.size, bool)
    i = np.searchsorted(highs, starts, "left")  # first interval ending at or after the start
    inside = i < highs.size
    return inside & (lows[np.minimum(i, highs.size - 1)] <= ends)


def chunks_touched(
    conn: Connection, ids: Sequence[int], intervals: Sequence[tuple[int, int]], start: int, end: int
) -> tuple[int, int]:
    """(chunks overlapping ``intervals``, chunks overlapping [start, end)): what reading only the
    intervals would save, from the chunk index alone (no blob read)."""
    q = overlapping(conn.dialect.name, ("start_ts", "end_ts"))
    touched = total = 0
    for part in _parts(ids):
        rows = conn.execute(q, {"ids": part, "start": start, "end": end}).all()
        if rows:
            spans = np.array(rows, dtype=np.int64)
            touched += int(_overlaps(spans[:, 0], spans[:, 1], _bounds(intervals)).sum())
            total += len(rows)
    return touched, total


def read_rollup_arrays(
    conn: Connection, width: int, ids: Sequence[int], start: int, end: int
) -> dict[int, tuple[np.ndarray, ...]]:
    """Rollup rows per series, bucket starts in [start, end): sid -> (ts, count, sum, min, max)."""
    from core.storage.tsdb.rollup import read_rollup_current

    frame = read_rollup_current(conn, width, list(ids), start, end)
    if frame.is_empty():
        return {}
    sids = frame["series_id"].to_numpy()
    cols = [frame[c].to_numpy() for c in ("ts", "count", "sum", "min", "max")]
    cuts = np.flatnonzero(np.diff(sids)) + 1
    bounds = zip(np.r_[0, cuts].tolist(), np.r_[cuts, sids.size].tolist(), strict=True)
    return {int(sids[a]): tuple(np.asarray(c[a:b]) for c in cols) for a, b in bounds}


def stored_counts(conn: Connection, ids: Sequence[int], start: int, end: int) -> tuple[dict[int, int], int]:
    """(samples per series in the chunks overlapping [start, end), samples of every head block
    overlapping it): a reader's estimate of a read's size, from the indexes and the blocks' row
    counts alone (no blob read)."""
    per: dict[int, int] = {}
    q = overlapping(conn.dialect.name, ("series_id", "n"))
    for part in _parts(ids):
        for sid, n in conn.execute(q, {"ids": part, "start": start, "end": end}):
            per[int(sid)] = per.get(int(sid), 0) + int(n)
    h = head.c
    in_head = sa.select(sa.func.coalesce(sa.func.sum(h.n), 0)).where(h.max_ts >= start, h.min_ts < end)
    return per, int(conn.execute(in_head).scalar_one())
