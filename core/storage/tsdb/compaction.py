"""Compaction: head blocks older than the out-of-order window become compressed per-series chunks.

Chunks are aligned to ``chunk_seconds``. The part of a head block at or after the cutoff is
kept in place as a smaller head block (same id, so write order is kept). A late sample whose window was already compacted is
merged into the existing chunk on the next run; reads merge chunks and head blocks meanwhile.

Every chunk is encoded once per run: the head blocks of one window are compacted together
(:mod:`compaction_plan` groups them). A window holding more than ``_PASS_SAMPLES`` (10,000
series x 15 s hold 14.4M in a 6-hour window) is compacted a range of series at a time, each
range in its own transaction (reading only the blocks that hold series of the range), and its
blocks deleted once all ranges are in: memory stays bounded, and a run cut short in between only
leaves samples that are both in a chunk and in the head, which the next run merges again to the
same chunk (reads meanwhile see them once).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.kernel.settings import IngestSettings
from core.storage.engine import begin_locked, storage_errors
from core.storage.schema import chunks, head
from core.storage.tsdb.block import pack, unpack
from core.storage.tsdb.chunks import decode
from core.storage.tsdb.chunks_many import encode_segments
from core.storage.tsdb.compaction_plan import HeadBlock, series_ranges, units
from core.storage.tsdb.read import Arrays, latest_writes
from core.storage.upsert import upsert

_MAX_SAMPLES = 500_000  # per transaction: bounds memory, and the time other writers wait
_PASS_SAMPLES = 1_000_000  # per transaction of a window compacted a range of series at a time
_FETCH = 64  # head blocks read per query of a window's pass


def _existing(conn: Connection, ids: list[int], lo: int, hi: int) -> dict[tuple[int, int], bytes]:
    c = chunks.c
    found: dict[tuple[int, int], bytes] = {}
    for i in range(0, len(ids), 500):
        q = sa.select(c.series_id, c.start_ts, c.data).where(
            c.series_id.in_(ids[i : i + 500]), c.start_ts >= lo, c.start_ts < hi
        )
        found.update({(sid, start): data for sid, start, data in conn.execute(q)})
    return found


def _merged(old: bytes, ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A chunk's samples with newer ones on top: a timestamp in both keeps the newer value."""
    pts, pvals = decode(old)
    all_ts, all_vals = np.concatenate([pts, ts]), np.concatenate([pvals, values])
    order = np.argsort(all_ts, kind="stable")  # ties keep chunk first, newer last
    all_ts, all_vals = all_ts[order], all_vals[order]
    last = np.ones(all_ts.size, dtype=bool)
    last[:-1] = all_ts[1:] != all_ts[:-1]
    return all_ts[last], all_vals[last]


def _chunk_rows(data: Arrays, width: int, old: dict[tuple[int, int], bytes]) -> list[dict[str, object]]:
    """One encoded chunk per (series, window) of ``data`` (sorted by series, ts), all encoded at once."""
    sids, ts_all, vals = data
    if not sids.size:
        return []
    starts = ts_all - ts_all % width
    bounds = np.r_[0, np.flatnonzero((np.diff(sids) != 0) | (np.diff(starts) != 0)) + 1, sids.size]
    keys = list(zip(sids[bounds[:-1]].tolist(), starts[bounds[:-1]].tolist(), strict=True))
    if any(key in old for key in keys):  # late samples into chunks already written: merge those
        pieces = [
            _merged(old[key], ts_all[a:b], vals[a:b]) if key in old else (ts_all[a:b], vals[a:b])
            for key, a, b in zip(keys, bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
        ]
        ts_all = np.concatenate([t for t, _ in pieces])
        vals = np.concatenate([v for _, v in pieces])
        bounds = np.r_[0, np.cumsum([t.size for t, _ in pieces])]
    blobs = encode_segments(ts_all, [vals], bounds)
    ends, counts = ts_all[bounds[1:] - 1].tolist(), np.diff(bounds).tolist()
    return [
        {"series_id": sid, "start_ts": start, "end_ts": end, "n": n, "data": blob}
        for (sid, start), end, n, blob in zip(keys, ends, counts, blobs, strict=True)
    ]


def _write_chunks(conn: Connection, data: Arrays, width: int, lo: int, hi: int) -> int:
    ids = np.unique(data[0]).tolist()
    new = _chunk_rows(data, width, _existing(conn, ids, lo, hi))
    upsert(conn, chunks, new, ["series_id", "start_ts"])
    return len(new)


Windows = dict[int, set[int] | None]  # block id -> the windows (starts) to take from it; None: all


def _compact_blocks(
    conn: Connection, rows: list[tuple[int, bytes, int]], take: Windows, cutoff: int, width: int
) -> int:
    """The samples before ``cutoff`` of each block's windows in ``take`` into chunks; the blocks
    keep the rest (a block straddling into a window compacted by its own passes keeps that part)."""
    pieces: list[Arrays] = []
    for block_id, blob, n in rows:
        sids, ts, values = unpack(blob, n)
        old = ts < cutoff
        windows = take.get(block_id)
        if windows is not None:
            old &= np.isin(ts - ts % width, np.fromiter(windows, np.int64, len(windows)))
        pieces.append((sids[old], ts[old], values[old]))
        _trim(conn, block_id, sids, ts, values, ~old)
    data = latest_writes(pieces)
    if not data[0].size:  # blocks a window pass of this run has taken already
        return 0
    lo = int(data[1].min()) // width * width
    return _write_chunks(conn, data, width, lo, cutoff)


def _compact_batch(
    engine: Engine, lock: AbstractContextManager[object] | None, take: Windows, cutoff: int, width: int
) -> int:
    with begin_locked(engine, lock) as conn:
        q = sa.select(head.c.id, head.c.data, head.c.n).where(head.c.id.in_(list(take))).order_by(head.c.id)
        return _compact_blocks(conn, [tuple(r) for r in conn.execute(q)], take, cutoff, width)


def _unpacked(conn: Connection, ids: list[int]) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(id, series, ts, values) of the blocks ``ids`` still there, in that (write) order,
    a few fetched at a time."""
    for i in range(0, len(ids), _FETCH):
        q = sa.select(head.c.id, head.c.data, head.c.n).where(head.c.id.in_(ids[i : i + _FETCH]))
        found = {bid: (blob, n) for bid, blob, n in conn.execute(q)}
        for bid in ids[i : i + _FETCH]:
            if bid in found:
                yield (bid, *unpack(*found[bid]))


def _compact_window(
    engine: Engine, lock: AbstractContextManager[object] | None, blocks: list[HeadBlock], lo: int, width: int
) -> int:
    """The samples of window [lo, lo + width) in ``blocks``, a range of series per transaction;
    then the blocks lose them (deleted, or trimmed in place when they straddle into the next)."""
    ids, hi = [b.id for b in blocks], lo + width
    with engine.connect() as conn:
        counted = {
            bid: np.unique(s[(t >= lo) & (t < hi)], return_counts=True)
            for bid, s, t, _ in _unpacked(conn, ids)
        }
    spans = {bid: (int(u[0]), int(u[-1])) for bid, (u, _) in counted.items() if u.size}
    written = 0
    for first, last in series_ranges(list(counted.values()), _PASS_SAMPLES):
        wanted = [bid for bid in ids if bid in spans and spans[bid][0] <= last and spans[bid][1] >= first]
        with begin_locked(engine, lock) as conn:
            pieces: list[Arrays] = []
            for _, sids, ts, values in _unpacked(conn, wanted):  # blocks holding series of the range
                keep = (sids >= first) & (sids <= last) & (ts >= lo) & (ts < hi)
                pieces.append((sids[keep], ts[keep], values[keep]))
            written += _write_chunks(conn, latest_writes(pieces), width, lo, hi)
    inside = [b.id for b in blocks if b.min_ts >= lo and b.max_ts < hi]
    straddling = [b.id for b in blocks if not (b.min_ts >= lo and b.max_ts < hi)]
    with begin_locked(engine, lock) as conn:
        for i in range(0, len(inside), 500):
            conn.execute(sa.delete(head).where(head.c.id.in_(inside[i : i + 500])))
        q = sa.select(head.c.id, head.c.data, head.c.n).where(head.c.id.in_(straddling))
        for block_id, blob, n in conn.execute(q).all():
            sids, ts, values = unpack(blob, n)
            _trim(conn, block_id, sids, ts, values, (ts < lo) | (ts >= hi))
    return written


def _trim(
    conn: Connection, block_id: int, sids: np.ndarray, ts: np.ndarray, values: np.ndarray, keep: np.ndarray
) -> None:
    """Keep only the ``keep`` samples of a head block, in place (same id: it still reads as
    written when it was), or delete it when none are left."""
    if not keep.any():
        conn.execute(sa.delete(head).where(head.c.id == block_id))
        return
    conn.execute(
        sa.update(head)
        .where(head.c.id == block_id)
        .values(
            min_ts=int(ts[keep].min()),
            max_ts=int(ts[keep].max()),
            n=int(keep.sum()),
            data=pack(sids[keep], ts[keep], values[keep]),
        )
    )


def compact(
    engine: Engine, settings: IngestSettings, now_ms: int, lock: AbstractContextManager[object] | None = None
) -> int:
    """Move samples of whole chunk windows ending before ``now - out_of_order_window`` into chunks."""
    width = settings.chunk_seconds * 1000
    cutoff = now_ms - settings.out_of_order_window_s * 1000
    cutoff -= cutoff % width
    written = 0
    with storage_errors("compacting samples"):
        with engine.connect() as conn:
            q = sa.select(head.c.id, head.c.n, head.c.min_ts, head.c.max_ts)
            todo = [HeadBlock(*r) for r in conn.execute(q.where(head.c.min_ts < cutoff).order_by(head.c.id))]
        batch: Windows = {}
        total = 0
        for unit in [*units(todo, width, cutoff), None]:
            size = sum(b.n for b in unit.blocks) if unit else 0
            if batch and (unit is None or total + size > _MAX_SAMPLES):
                written += _compact_batch(engine, lock, batch, cutoff, width)
                batch, total = {}, 0
            if unit is None:
                break
            if size > _PASS_SAMPLES and unit.window is not None:
                written += _compact_window(engine, lock, unit.blocks, unit.window, width)
                continue
            for b in unit.blocks:
                if unit.window is None:
                    batch[b.id] = None
                elif (windows := batch.setdefault(b.id, set())) is not None:
                    windows.add(unit.window)
            total += size
    return written
