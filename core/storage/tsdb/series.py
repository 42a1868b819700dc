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


def fingerprints(keys: Iterable[SeriesKey]) -> dict[str, SeriesKey]:
    """Each key's fingerprint (computed once: a batch of new series asks three times)."""
    return {fingerprint(m, lb): (m, lb) for m, lb in keys}


def insert_missing(conn: Connection, by_fp: dict[str, SeriesKey]) -> None:
    """Create series rows for keys not yet stored; safe against concurrent writers.

    One driver-level executemany (SQLAlchemy's per-row parameter handling cost more than the
    inserts themselves for a scrape of 370,000 new series)."""
    if not by_fp:
        return
    now = int(time.time() * 1000)
    rows = [(fp, m, labels_json(lb), now) for fp, (m, lb) in by_fp.items()]
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    sql = (
        f"INSERT INTO {series.name} (fingerprint, metric, labels, created_ms) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}) ON CONFLICT (fingerprint) DO NOTHING"
    )
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(sql, rows)
    finally:
        cur.close()


_IN_CHUNK = 5_000  # fingerprints per IN (...): within SQLite's 32,766 and PostgreSQL's 65,535 parameters


def ids_for(conn: Connection, by_fp: dict[str, SeriesKey]) -> dict[SeriesKey, int]:
    """Look up ids of stored series by fingerprint (``by_fp`` from :func:`fingerprints`)."""
    out: dict[SeriesKey, int] = {}
    fps = list(by_fp)
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    for i in range(0, len(fps), _IN_CHUNK):
        part = tuple(fps[i : i + _IN_CHUNK])
        sql = f"SELECT id, fingerprint FROM {series.name} WHERE fingerprint IN ({', '.join([mark] * len(part))})"
        for sid, fp in conn.exec_driver_sql(sql, part):  # driver-level: no per-parameter compiling
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
