"""Compaction: head blocks older than the out-of-order window become compressed per-series chunks.

Chunks are aligned to ``chunk_seconds``. The part of a head block at or after the cutoff is
kept in place as a smaller head block (same id, so write order is kept). A late sample whose window was already compacted is
merged into the existing chunk on the next run; reads merge chunks and head blocks meanwhile.

Every chunk is encoded once per run: the head blocks of one window are compacted together
(:mod:`compaction_plan` groups them). A window holding more than ``_PASS_SAMPLES`` (10,000
series x 15 s hold 14.4M in a 6-hour window) is compacted a range of series at a time, each
range in its own transaction, and its blocks deleted once all ranges are in: memory stays
bounded, and a run cut short in between only leaves samples that are both in a chunk and in
the head, which the next run merges again to the same chunk (reads meanwhile see them once).
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


def _compact_blocks(conn: Connection, rows: list[tuple[int, bytes, int]], cutoff: int, width: int) -> int:
    pieces: list[Arrays] = []
    for block_id, blob, n in rows:
        sids, ts, values = unpack(blob, n)
        old = ts < cutoff
        pieces.append((sids[old], ts[old], values[old]))
        if old.all():
            conn.execute(sa.delete(head).where(head.c.id == block_id))
        else:  # keep the newer part in place: same id, so it still reads as written when it was
            keep = ~old
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
    data = latest_writes(pieces)
    lo = int(data[1].min()) // width * width
    return _write_chunks(conn, data, width, lo, cutoff)


def _compact_batch(
    engine: Engine, lock: AbstractContextManager[object] | None, ids: list[int], cutoff: int, width: int
) -> int:
    with begin_locked(engine, lock) as conn:
        q = sa.select(head.c.id, head.c.data, head.c.n).where(head.c.id.in_(ids)).order_by(head.c.id)
        return _compact_blocks(conn, [tuple(r) for r in conn.execute(q)], cutoff, width)


def _unpacked(conn: Connection, ids: list[int]) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The blocks ``ids`` in that (write) order, unpacked, a few fetched at a time."""
    for i in range(0, len(ids), _FETCH):
        q = sa.select(head.c.id, head.c.data, head.c.n).where(head.c.id.in_(ids[i : i + _FETCH]))
        found = {bid: (blob, n) for bid, blob, n in conn.execute(q)}
        for bid in ids[i : i + _FETCH]:
            if bid in found:
                yield unpack(*found[bid])


def _compact_window(
    engine: Engine, lock: AbstractContextManager[object] | None, blocks: list[HeadBlock], width: int
) -> int:
    """The blocks of one window (all before the cutoff), a range of series per transaction."""
    ids = [b.id for b in blocks]
    lo = blocks[0].min_ts // width * width
    with engine.connect() as conn:
        counted = [np.unique(sids, return_counts=True) for sids, _, _ in _unpacked(conn, ids)]
    written = 0
    for first, last in series_ranges(counted, _PASS_SAMPLES):
        with begin_locked(engine, lock) as conn:
            pieces: list[Arrays] = []
            for sids, ts, values in _unpacked(conn, ids):
                keep = (sids >= first) & (sids <= last)
                pieces.append((sids[keep], ts[keep], values[keep]))
            written += _write_chunks(conn, latest_writes(pieces), width, lo, lo + width)
    with begin_locked(engine, lock) as conn:
        for i in range(0, len(ids), 500):
            conn.execute(sa.delete(head).where(head.c.id.in_(ids[i : i + 500])))
    return written


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
        batch: list[int] = []
        total = 0
        for unit in [*units(todo, width), []]:
            size = sum(b.n for b in unit)
            if batch and (not unit or total + size > _MAX_SAMPLES):
                written += _compact_batch(engine, lock, batch, cutoff, width)
                batch, total = [], 0
            if size > _PASS_SAMPLES and unit[0].single_window(width):
                written += _compact_window(engine, lock, unit, width)
            elif unit:
                batch += [b.id for b in unit]
                total += size
    return written
