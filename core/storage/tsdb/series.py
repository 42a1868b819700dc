"""Series identity: canonical label sets, stable fingerprints, id resolution with a cache."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.storage.schema import chunks, head, series
from core.storage.tsdb.block import unpack

Labels = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, Labels]


def fingerprint(metric: str, labels: Labels) -> str:
    """Stable 32-hex-digit hash of a metric name and its canonical label set."""
    text = metric + "\x00" + json.dumps(labels, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def labels_json(labels: Labels) -> str:
    return json.dumps(dict(labels), separators=(",", ":"), sort_keys=True)


def insert_missing(conn: Connection, keys: Iterable[SeriesKey]) -> None:
    """Create series rows for keys not yet stored; safe against concurrent writers."""
    rows = [
        {
            "fingerprint": fingerprint(m, lb),
            "metric": m,
            "labels": labels_json(lb),
            "created_ms": int(time.time() * 1000),
        }
        for m, lb in keys
    ]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(series).on_conflict_do_nothing(index_elements=["fingerprint"]), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(series).on_conflict_do_nothing(index_elements=["fingerprint"]), rows)


def ids_for(conn: Connection, keys: list[SeriesKey]) -> dict[SeriesKey, int]:
    """Look up ids of stored series by fingerprint."""
    by_fp = {fingerprint(m, lb): (m, lb) for m, lb in keys}
    out: dict[SeriesKey, int] = {}
    fps = list(by_fp)
    for i in range(0, len(fps), 500):
        part = fps[i : i + 500]
        for sid, fp in conn.execute(
            sa.select(series.c.id, series.c.fingerprint).where(series.c.fingerprint.in_(part))
        ):
            out[by_fp[fp]] = sid
    return out


def heads_for(conn: Connection, ids: list[int]) -> dict[int, int]:
    """Newest stored timestamp of each series (head blocks and chunks)."""
    heads: dict[int, int] = {}
    wanted = np.array(ids, dtype=np.int64)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        q = sa.select(chunks.c.series_id, sa.func.max(chunks.c.end_ts)).where(chunks.c.series_id.in_(part))
        heads.update({sid: ts for sid, ts in conn.execute(q.group_by(chunks.c.series_id))})
    for blob, n in conn.execute(sa.select(head.c.data, head.c.n)):
        sids, ts, _ = unpack(blob, n)
        keep = np.isin(sids, wanted)
        if keep.any():
            frame = pl.DataFrame({"sid": sids[keep], "ts": ts[keep]}).group_by("sid").agg(pl.col("ts").max())
            for sid, t in frame.iter_rows():
                heads[sid] = max(heads.get(sid, t), t)
    return heads


def counts_per_metric(conn: Connection) -> dict[str, int]:
    q = sa.select(series.c.metric, sa.func.count()).group_by(series.c.metric)
    return {m: n for m, n in conn.execute(q)}
