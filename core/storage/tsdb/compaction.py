"""Compaction: head blocks older than the out-of-order window become compressed per-series chunks.

Chunks are aligned to ``chunk_seconds``. The part of a head block at or after the cutoff is
kept in place as a smaller head block (same id, so write order is kept). A late sample whose window was already compacted is
merged into the existing chunk on the next run; reads merge chunks and head blocks meanwhile.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.kernel.settings import IngestSettings
from core.storage.engine import begin_locked, storage_errors
from core.storage.schema import chunks, head
from core.storage.tsdb.block import pack, unpack
from core.storage.tsdb.chunks import decode, encode
from core.storage.tsdb.read import RAW_SCHEMA, last_write_wins
from core.storage.upsert import upsert

_MAX_SAMPLES = 500_000  # per transaction: bounds memory, and the time other writers wait


def _existing(conn: Connection, ids: list[int], lo: int, hi: int) -> dict[tuple[int, int], bytes]:
    c = chunks.c
    found: dict[tuple[int, int], bytes] = {}
    for i in range(0, len(ids), 500):
        q = sa.select(c.series_id, c.start_ts, c.data).where(
            c.series_id.in_(ids[i : i + 500]), c.start_ts >= lo, c.start_ts < hi
        )
        found.update({(sid, start): data for sid, start, data in conn.execute(q)})
    return found


def _chunk_rows(data: pl.DataFrame, width: int, old: dict[tuple[int, int], bytes]) -> list[dict[str, object]]:
    """One encoded chunk per (series, window) of ``data`` (sorted by series_id, ts)."""
    sids, ts_all, vals = (data[c].to_numpy() for c in ("series_id", "ts", "value"))
    starts = ts_all - ts_all % width
    cuts = np.flatnonzero((np.diff(sids) != 0) | (np.diff(starts) != 0)) + 1
    rows: list[dict[str, object]] = []
    for a, b in zip(np.r_[0, cuts].tolist(), np.r_[cuts, sids.size].tolist(), strict=True):
        sid, start = int(sids[a]), int(starts[a])
        ts, values = ts_all[a:b], vals[a:b]
        prev = old.get((sid, start))
        if prev is not None:
            pts, pvals = decode(prev)
            merged = pl.DataFrame({"ts": np.concatenate([pts, ts]), "value": np.concatenate([pvals, values])})
            merged = merged.unique("ts", keep="last", maintain_order=True).sort("ts")
            ts, values = merged["ts"].to_numpy(), merged["value"].to_numpy()
        rows.append(
            {
                "series_id": sid,
                "start_ts": start,
                "end_ts": int(ts[-1]),
                "n": int(ts.size),
                "data": encode(ts, values),
            }
        )
    return rows


def _compact_blocks(conn: Connection, rows: list[tuple[int, bytes, int]], cutoff: int, width: int) -> int:
    frames = []
    for block_id, blob, n in rows:
        sids, ts, values = unpack(blob, n)
        old = ts < cutoff
        frames.append(
            pl.DataFrame({"series_id": sids[old], "ts": ts[old], "value": values[old]}, schema=RAW_SCHEMA)
        )
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
    data = last_write_wins(frames, RAW_SCHEMA)
    ids = data["series_id"].unique().to_list()
    lo = int(data["ts"].to_numpy().min()) // width * width
    new = _chunk_rows(data, width, _existing(conn, ids, lo, cutoff))
    upsert(conn, chunks, new, ["series_id", "start_ts"])
    return len(new)


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
            q = sa.select(head.c.id, head.c.n).where(head.c.min_ts < cutoff).order_by(head.c.id)
            todo = conn.execute(q).all()
        batch: list[int] = []
        total = 0
        for block_id, n in [*todo, (None, 0)]:
            if block_id is not None:
                batch.append(block_id)
                total += n
            if batch and (total >= _MAX_SAMPLES or block_id is None):
                with begin_locked(engine, lock) as conn:
                    q2 = (
                        sa.select(head.c.id, head.c.data, head.c.n)
                        .where(head.c.id.in_(batch))
                        .order_by(head.c.id)
                    )
                    written += _compact_blocks(conn, [tuple(r) for r in conn.execute(q2)], cutoff, width)
                batch, total = [], 0
    return written
