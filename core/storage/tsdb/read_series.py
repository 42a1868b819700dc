"""Raw samples read from chunks and head blocks: per series for the PromQL engine
(:func:`read_series_arrays`), laid end to end for Pulse's own queries, rollups and compaction
(:func:`read_flat`, :func:`read_raw`).

A frame per chunk merged with a sort over every sample is what a long range query paid most of
its time for. Here chunks arrive ordered by series and start, are cut to the range with
``searchsorted`` (they are sorted), and concatenated per series; only a series that also has samples in the head blocks, or whose chunks overlap (a late
write compacted after its neighbours), is sorted, and a (series, ts) written twice keeps its
last write. Stale markers are dropped (a marker ends a series, it is not a value).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.storage.schema import head, series
from core.storage.tsdb.chunk_cache import decode_chunks
from core.storage.tsdb.chunks import decode_tables
from core.storage.tsdb.head_cache import Block, head_cache
from core.storage.tsdb.overlap import overlapping
from core.storage.tsdb.read import RAW_SCHEMA, _parts, head_rows, is_stale, latest_writes

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


Flat = tuple[np.ndarray, np.ndarray, np.ndarray]  # series id, ts, value per sample


def _chunk_rows(
    conn: Connection, ids: Sequence[int], start: int, end: int, intervals: Sequence[tuple[int, int]] | None
) -> tuple[list[int], list[bytes], list[bool]]:
    """(series id, blob, whole) of the chunks overlapping [start, end) (and ``intervals``), ordered
    by series and start within each part of ``ids``: a series' chunks are adjacent, in time
    order. ``whole``: the chunk lies inside [start, end), no sample of it to cut."""
    sids: list[int] = []
    blobs: list[bytes] = []
    whole: list[bool] = []
    q = overlapping(conn.dialect.name, ("series_id", "start_ts", "end_ts", "data"), ordered=True)
    for part in _parts(ids):
        rows = conn.execute(q, {"ids": part, "start": start, "end": end}).all()
        if intervals is not None and rows:
            spans = np.array([(first, last) for _, first, last, _ in rows], dtype=np.int64)
            inside = _overlaps(spans[:, 0], spans[:, 1], _bounds(intervals)).tolist()
            rows = [r for r, keep in zip(rows, inside, strict=True) if keep]
        sids += [int(r[0]) for r in rows]
        blobs += [r[3] for r in rows]
        whole += [start <= r[1] and r[2] < end for r in rows]
    return sids, blobs, whole


def _chunk_samples(
    conn: Connection,
    ids: Sequence[int],
    start: int,
    end: int,
    intervals: Sequence[tuple[int, int]] | None,
    cached: bool,
) -> Flat:
    """Samples of the chunks overlapping [start, end), cut to it, laid end to end: each series'
    chunks adjacent and in chunk order. ``cached``: decoded through the process' chunk cache (a
    read the cache can hold: a dashboard's refresh reads the same chunks again); else decoded in
    one pass straight into the flat arrays, without the cache's copy per chunk (a read larger
    than the cache would only push out what it holds)."""
    sids, blobs, whole = _chunk_rows(conn, ids, start, end, intervals)
    if not blobs:
        return np.zeros(0, np.int64), _EMPTY_TS, _EMPTY_V
    if cached:  # each chunk cut before the copy: an instant query keeps minutes of 6-hour chunks
        decoded = decode_chunks(blobs)
        cut = [d if w else _cut(*d, start, end) for d, w in zip(decoded, whole, strict=True)]
        counts = np.array([t.size for t, _ in cut], np.int64)
        ts, values = np.concatenate([t for t, _ in cut]), np.concatenate([v for _, v in cut])
        return np.repeat(np.asarray(sids, np.int64), counts), ts, values
    counts, ts, (values,) = decode_tables(blobs, 1)
    keep = (ts >= start) & (ts < end)
    return np.repeat(np.asarray(sids, np.int64), counts)[keep], ts[keep], values[keep]


def _head_samples(
    conn: Connection, ids: Sequence[int], start: int, end: int, blocks: Sequence[Block] | None
) -> Flat | None:
    """Samples of the head blocks in [start, end), in write order, or None when there are none."""
    found = list(head_rows(conn, ids, start, end, blocks))
    if not found:
        return None
    return tuple(np.concatenate([f[i] for f in found]) for i in range(3))  # type: ignore[return-value]


def _laid_out(
    conn: Connection,
    ids: Sequence[int],
    start: int,
    end: int,
    intervals: Sequence[tuple[int, int]] | None,
    cached: bool,
    head_blocks: Sequence[Block] | None,
) -> Flat:
    """Chunk and head samples laid end to end by series (int64 ts, float64 values), a series'
    chunk samples first, then its head samples in write order; not yet checked for order,
    rewrites or stale markers."""
    ids = sorted(set(ids))  # the chunks' samples come ordered by series id
    flat = _chunk_samples(conn, ids, start, end, intervals, cached)
    head = _head_samples(conn, ids, start, end, head_blocks)
    if head is not None:  # chunks first, then head blocks in write order: last write wins
        flat = _merged(flat, head)
    return flat[0], flat[1].astype(np.int64, copy=False), flat[2].astype(np.float64, copy=False)


def read_series_arrays(
    conn: Connection,
    ids: Sequence[int],
    start: int,
    end: int,
    intervals: Sequence[tuple[int, int]] | None = None,
    cached: bool = True,
    head_blocks: Sequence[Block] | None = None,
    keep_stale: bool = False,
) -> SeriesArrays:
    """Samples with start <= ts < end of each of ``ids`` that has any: sid -> (int64 ts, float64 values).

    Stale markers are dropped unless ``keep_stale`` (the PromQL engine's read: a marker ends a
    series at once for instant selectors, as in Prometheus; its range functions drop them).

    With ``intervals`` (sorted, disjoint, closed), only chunks overlapping one of them are read:
    every sample inside the intervals is returned, others may be. ``cached=False`` for reads
    larger than the chunk cache (see :func:`_chunk_samples`). ``head_blocks``: the head blocks
    overlapping at least [start, end), decoded once for all the parts of a read (see
    :func:`head_blocks`); else they come from the head cache.
    """
    sids, ts_all, val_all = _laid_out(conn, ids, start, end, intervals, cached, head_blocks)
    return _split(sids, ts_all, val_all, keep_stale) if sids.size else {}


def read_flat(conn: Connection, ids: Sequence[int], start: int, end: int, cached: bool = True) -> Flat:
    """Raw samples of ``ids`` with start <= ts < end as arrays (series id, ts, value), sorted by
    series then time; a (series, ts) written twice keeps its last write; stale markers dropped.

    ``cached``: chunks decoded through the process' chunk cache (a dashboard's or a rule's read,
    asked again at the next refresh); False for reads that pass once over much data (rollups,
    compaction), which would only push out what the cache holds.
    """
    sids, ts, values = _laid_out(conn, ids, start, end, None, cached, None)
    if sids.size > 1 and bool(np.any((ts[1:] <= ts[:-1]) & (sids[1:] == sids[:-1]))):
        sids, ts, values = latest_writes([(sids, ts, values)])  # a stable sort: the last write stays last
    stale = is_stale(values)
    if stale.any():
        keep = ~stale
        return sids[keep], ts[keep], values[keep]
    return sids, ts, values


def read_raw(conn: Connection, ids: Sequence[int], start: int, end: int) -> pl.DataFrame:
    """:func:`read_flat` as one frame (series_id, ts, value), sorted by series and time.

    One frame for the whole read: a frame per chunk and per head block, concatenated and sorted,
    cost a dashboard refresh more than its queries (a head block is written every collection)."""
    sids, ts, values = read_flat(conn, ids, start, end)
    return pl.DataFrame({"series_id": sids, "ts": ts, "value": values}, schema=RAW_SCHEMA)


def read_raw_arrays(conn: Connection, ids: Sequence[int], start: int, end: int) -> Flat:
    """:func:`read_flat` past the chunk cache: the read of rollups, compaction and range rules."""
    return read_flat(conn, ids, start, end, cached=False)


_SMALL = 50_000  # samples under which chunk and head samples are merged by one stable sort
_FEW_SERIES = 2_000  # series up to which they are merged as slices (else by two scatters)


def _runs(sids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(series id, first index, count) of each run of equal ids in ``sids`` (sorted, not empty)."""
    first = np.r_[0, np.flatnonzero(sids[1:] != sids[:-1]) + 1]
    return sids[first], first, np.diff(np.r_[first, sids.size])


def _merged(chunk: Flat, head: Flat) -> Flat:
    """Chunk samples (ordered by series) and head samples (in write order) laid end to end by
    series, a series' chunk samples first, then its head samples in write order. The head part
    is sorted (stably) on its own, then both are placed run by run (a run: one series' samples):
    a stable sort of both together cost 0.9 s of an all-series query over 10,000 series."""
    if chunk[0].size + head[0].size < _SMALL:  # a few numpy calls instead of some forty
        together = [np.concatenate((c, h)) for c, h in zip(chunk, head, strict=True)]
        order = np.argsort(together[0], kind="stable")
        return together[0][order], together[1][order], together[2][order]
    order = np.argsort(head[0], kind="stable")
    head = (head[0][order], head[1][order], head[2][order])
    if not chunk[0].size or not head[0].size:
        return head if chunk[0].size == 0 else chunk
    c_sid, c_first, c_count = _runs(chunk[0])
    h_sid, h_first, h_count = _runs(head[0])
    every = np.union1d(c_sid, h_sid)
    c_at, h_at = np.searchsorted(every, c_sid), np.searchsorted(every, h_sid)
    if every.size <= _FEW_SERIES:  # long runs: copied as slices, one concatenate an array
        c_lo, c_hi, h_lo, h_hi = (np.zeros(every.size, np.int64) for _ in range(4))
        c_lo[c_at], c_hi[c_at] = c_first, c_first + c_count
        h_lo[h_at], h_hi[h_at] = h_first, h_first + h_count
        bounds = list(zip(c_lo.tolist(), c_hi.tolist(), h_lo.tolist(), h_hi.tolist(), strict=True))
        joined = [
            np.concatenate([p for a, b, x, y in bounds for p in (c[a:b], h[x:y])])
            for c, h in zip(chunk, head, strict=True)
        ]
        return joined[0], joined[1], joined[2]
    sizes = np.zeros(every.size, np.int64)
    in_chunks = np.zeros(every.size, np.int64)
    in_chunks[c_at] = c_count
    sizes[c_at] += c_count
    sizes[h_at] += h_count
    starts = np.cumsum(sizes) - sizes  # where each series begins in the merged arrays
    at_chunk = np.repeat(starts[c_at] - c_first, c_count) + np.arange(chunk[0].size)
    at_head = np.repeat(starts[h_at] + in_chunks[h_at] - h_first, h_count) + np.arange(head[0].size)
    out = []
    for c, h in zip(chunk, head, strict=True):
        both = np.empty(c.size + h.size, np.result_type(c, h))
        both[at_chunk], both[at_head] = c, h
        out.append(both)
    return out[0], out[1], out[2]


def head_blocks(conn: Connection, start: int, end: int) -> list[Block]:
    """The head blocks overlapping [start, end), decoded, for a read in many parts to share.

    Collection writes a head block per batch with every series in it, so each part of a read
    over many series needs every block. Taken from the head cache part after part, blocks that
    the cache cannot hold (10,000 series x 6 h is 14.4M samples, ~350 MB decoded, against its
    32 MB) were fetched, decompressed and sorted again for every part: 115 times for one query
    over 10,000 series. Held by the read instead, each is decoded once; the memory is the
    head's, for the read's duration."""
    return list(head_cache(conn).blocks(conn, start, end))


def _split(
    sids: np.ndarray, ts_all: np.ndarray, val_all: np.ndarray, keep_stale: bool = False
) -> SeriesArrays:
    """Per series views of samples laid end to end by series; a series whose samples are out of
    order, written twice or (unless ``keep_stale``) stale-marked is sorted (last write wins) and
    cleaned on its own."""
    cuts = np.flatnonzero(sids[1:] != sids[:-1]) + 1
    firsts, stops = np.r_[0, cuts], np.r_[cuts, sids.size]
    unordered = (ts_all[1:] <= ts_all[:-1]) & (sids[1:] == sids[:-1])
    redo = set(sids[1:][unordered].tolist())
    if not keep_stale:
        redo |= set(sids[is_stale(val_all)].tolist())
    out: SeriesArrays = {}
    for sid, a, b in zip(sids[firsts].tolist(), firsts.tolist(), stops.tolist(), strict=True):
        ts, values = ts_all[a:b], val_all[a:b]
        if sid in redo:
            ts, values = _last_write_wins(ts, values)
            if not keep_stale:
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
    """Rollup rows per series, bucket starts in [start, end): sid -> (ts, count, sum, min, max,
    first, first_ts, last, last_ts); the times are NaN where not known (rows written before
    migration 0019)."""
    from core.storage.tsdb.rollup import read_rollup_current

    frame = read_rollup_current(conn, width, list(ids), start, end)
    if frame.is_empty():
        return {}
    sids = frame["series_id"].to_numpy()
    names = ("ts", "count", "sum", "min", "max", "first", "first_ts", "last", "last_ts")
    cols = [frame[c].to_numpy() for c in names]
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
        for sid, n in conn.execute(q, {"ids": part, "start": start, "end": end}).all():  # one fetch
            per[sid] = per.get(sid, 0) + n
    h = head.c
    in_head = sa.select(sa.func.coalesce(sa.func.sum(h.n), 0)).where(h.max_ts >= start, h.min_ts < end)
    return per, int(conn.execute(in_head).scalar_one())


def ever_stale(conn: Connection, ids: Sequence[int]) -> bool:
    """Whether ``series.stale_seen`` is set for any of ``ids``."""
    for part in _parts(ids):
        q = sa.select(series.c.id).where(series.c.id.in_(part), series.c.stale_seen).limit(1)
        if conn.execute(q).first() is not None:
            return True
    return False
