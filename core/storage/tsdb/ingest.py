"""The write path: validate a batch with numpy, resolve series, store it as one head block.

Per sample, Python only does one dict lookup (series id) and two ``np.fromiter`` reads; validation (future,
out-of-order window, cardinality) is vectorised. NaN and infinite values are stored bit for bit, as Prometheus
stores them (its stale marker, a NaN with other bits, too: reads leave it out, see ``read_series.read_flat``). Caches (series ids, per-series heads) are only
updated after the transaction commits, so a failed write leaves nothing stale behind.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.kernel.samples import Sample
from core.kernel.settings import IngestSettings
from core.storage.engine import storage_errors
from core.storage.schema import head, series
from core.storage.tsdb import series as series_mod
from core.storage.tsdb.block import pack
from core.storage.tsdb.read import is_stale
from core.storage.upsert import add_rejects, mark_dirty

MINUTE_MS = 60_000
NO_HEAD = -(2**62)
_UNKNOWN, _OVER_LIMIT, _BAD_NAME = -1, -2, -3
_MALFORMED = -4
_KEY, _TS, _VALUE = itemgetter(0, 1), itemgetter(2), itemgetter(3)
_ROW_TYPES = {Sample, tuple}
_NUMBER_TYPES = {int, float, np.float64, np.int64, np.float32, np.int32}


def _metric_of(s: object) -> str:
    metric = s[0] if isinstance(s, tuple | list) and s and isinstance(s[0], str) else "?"
    return metric[:200]


_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


@dataclass
class WriteResult:
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    new_series: int = 0


def _fits_float(x: float) -> bool:
    try:
        float(x)
    except OverflowError:
        return False
    return True


def well_formed(s: object) -> bool:
    """A 4-tuple (str metric, tuple of (str, str) labels, number ts, number value)."""
    return (
        isinstance(s, tuple)
        and len(s) == 4
        and isinstance(s[0], str)
        and isinstance(s[1], tuple)
        and all(isinstance(kv, tuple) and len(kv) == 2 and all(isinstance(x, str) for x in kv) for kv in s[1])
        and isinstance(s[2], int | float)
        and isinstance(s[3], int | float)
        and abs(s[2]) < 2**62
        and _fits_float(s[3])
    )


def key_problem(metric: object, labels: object) -> str | None:
    """Why a (metric, labels) key cannot name a series ("malformed", "bad_name"), or None."""
    if not isinstance(metric, str) or not isinstance(labels, tuple):
        return "malformed"
    if not all(
        isinstance(kv, tuple) and len(kv) == 2 and all(isinstance(x, str) for x in kv) for kv in labels
    ):
        return "malformed"
    names = [k for k, _ in labels]
    if (
        len(metric) > 200
        or _NAME.match(metric) is None
        or len(set(names)) != len(names)
        or any(_LABEL.match(k) is None or k.startswith("__") or len(v) > 1000 for k, v in labels)
    ):
        return "bad_name"
    return None


def canonical(labels: series_mod.Labels) -> series_mod.Labels:
    """Sorted by name, empty values dropped (an empty label is an absent label, as in Prometheus)."""
    return tuple(sorted((k, v) for k, v in labels if v != ""))


class Writer:
    """Turns batches of samples into head blocks. One per process and database."""

    def __init__(self, engine: Engine, settings: IngestSettings, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self._ids: dict[series_mod.SeriesKey, int] = {}
        self._heads = np.full(1024, NO_HEAD, dtype=np.int64)
        self._per_metric: dict[str, int] | None = None
        self.rejected_total: Counter[str] = Counter()
        self.accepted_total = 0

    def write(self, batch: Sequence[Sample]) -> WriteResult:
        """Store a batch in one transaction; rejected samples are counted by reason, never raised."""
        rejects: Counter[tuple[str, str]] = Counter()
        n = len(batch)
        try:
            if not (
                {*map(type, batch)} <= _ROW_TYPES
                and {*map(len, batch)} <= {4}
                and {*map(type, map(_TS, batch))} <= _NUMBER_TYPES
                and {*map(type, map(_VALUE, batch))} <= _NUMBER_TYPES
            ):
                raise TypeError("a sample is not a 4-tuple of plain numbers")
            ts = np.fromiter(map(_TS, batch), np.int64, n)
            values = np.fromiter(map(_VALUE, batch), np.float64, n)
            sid_list: list[int | None] = list(map(self._ids.get, map(_KEY, batch)))
        except (TypeError, ValueError, IndexError, KeyError, OverflowError):
            good = [s for s in batch if well_formed(s)]
            for s in batch:
                if not well_formed(s):
                    rejects["malformed", _metric_of(s)] += 1
            return (
                self._write_clean(good, rejects)
                if good
                else self._finish(WriteResult(), rejects, commit=True)
            )
        return self._write_columns(batch, sid_list, ts, values, rejects)

    def _write_clean(self, batch: list[Sample], rejects: Counter[tuple[str, str]]) -> WriteResult:
        sid_list: list[int | None] = [self._ids.get((s[0], s[1])) for s in batch]
        ts = np.array([s[2] for s in batch], dtype=np.int64)
        values = np.array([s[3] for s in batch], dtype=np.float64)
        return self._write_columns(batch, sid_list, ts, values, rejects)

    def _write_columns(
        self,
        batch: Sequence[Sample],
        sid_list: list[int | None],
        ts: np.ndarray,
        values: np.ndarray,
        rejects: Counter[tuple[str, str]],
    ) -> WriteResult:
        if not batch:
            return self._finish(WriteResult(), rejects, commit=True)
        miss = [i for i, sid in enumerate(sid_list) if sid is None] if None in sid_list else []
        for i in miss:
            sid_list[i] = _UNKNOWN
        sids = np.array(sid_list, dtype=np.int64)
        with storage_errors("writing samples"), self.engine.begin() as conn:
            new_ids: dict[series_mod.SeriesKey, int] = {}
            created: list[str] = []
            loaded_heads: dict[int, int] = {}
            if miss:
                keys = [(batch[i][0], batch[i][1]) for i in miss]
                new_ids, loaded_heads, created = self._resolve(conn, keys)
                sids[miss] = [new_ids.get(k, _OVER_LIMIT) for k in keys]
            heads = self._heads_view(sids, loaded_heads)  # stored heads are facts: kept even on rollback
            future = ts > int(self.clock() * 1000) + self.settings.future_tolerance_s * 1000
            too_old = ts < heads - self.settings.out_of_order_window_s * 1000
            known = sids >= 0
            ok = known & ~future & ~too_old
            for reason, mask in (
                ("cardinality", sids == _OVER_LIMIT),
                ("bad_name", sids == _BAD_NAME),
                ("malformed", sids == _MALFORMED),
                ("future", known & future),
                ("too_old", known & ~future & too_old),
            ):
                for j in np.flatnonzero(mask).tolist():
                    rejects[reason, _metric_of(batch[j])] += 1
            good_ts = ts[ok]
            if good_ts.size:
                # stored ordered by series (write order kept within one): readers order each
                # block by series (head_cache.Block.of), which is then one pass, not a sort per read
                by_series = np.argsort(sids[ok], kind="stable")
                conn.execute(
                    sa.insert(head).values(
                        min_ts=int(good_ts.min()),
                        max_ts=int(good_ts.max()),
                        n=int(good_ts.size),
                        data=pack(sids[ok][by_series], good_ts[by_series], values[ok][by_series]),
                    )
                )
                mark_dirty(conn, MINUTE_MS, np.unique(good_ts - good_ts % MINUTE_MS).tolist())
                _note_stale(conn, sids[ok], values[ok])
            if rejects:
                add_rejects(conn, rejects, int(self.clock() * 1000))
        self._ids.update({k: v for k, v in new_ids.items() if v >= 0})
        self._remember_heads(sids[ok], good_ts)
        if self._per_metric is not None:
            for metric in created:
                self._per_metric[metric] = self._per_metric.get(metric, 0) + 1
        return self._finish(WriteResult(accepted=int(good_ts.size), new_series=len(created)), rejects)

    def _finish(
        self, result: WriteResult, rejects: Counter[tuple[str, str]], commit: bool = False
    ) -> WriteResult:
        if commit and rejects:
            with storage_errors("recording rejected samples"), self.engine.begin() as conn:
                add_rejects(conn, rejects, int(self.clock() * 1000))
        for (reason, _metric), count in rejects.items():
            result.rejected[reason] += count
        self.rejected_total.update(result.rejected)
        self.accepted_total += result.accepted
        return result

    def _heads_view(self, sids: np.ndarray, loaded: dict[int, int]) -> np.ndarray:
        top = int(sids.max()) if sids.size else 0
        if top >= self._heads.size:
            grown = np.full(max(top + 1, self._heads.size * 2), NO_HEAD, dtype=np.int64)
            grown[: self._heads.size] = self._heads
            self._heads = grown
        for sid, ts in loaded.items():
            self._heads[sid] = max(int(self._heads[sid]), ts)
        return self._heads[np.clip(sids, 0, None)]

    def _remember_heads(self, sids: np.ndarray, ts: np.ndarray) -> None:
        if sids.size:
            np.maximum.at(self._heads, sids, ts)

    def _resolve(
        self, conn: sa.Connection, keys: list[series_mod.SeriesKey]
    ) -> tuple[dict[series_mod.SeriesKey, int], dict[int, int], list[str]]:
        """Ids (and heads) for keys the cache missed; new series obey the cardinality guard."""
        unique = list(dict.fromkeys(keys))
        problems = {k: key_problem(*k) for k in unique}
        out: dict[series_mod.SeriesKey, int] = {
            k: _MALFORMED if p == "malformed" else _BAD_NAME for k, p in problems.items() if p
        }
        canon = {k: (k[0], canonical(k[1])) for k in unique if not problems[k]}
        candidates = list(dict.fromkeys(canon.values()))
        by_fp = series_mod.fingerprints(candidates)
        found = series_mod.ids_for(conn, by_fp)
        heads = series_mod.heads_for(conn, list(found.values()))
        if self._per_metric is None:
            self._per_metric = series_mod.counts_per_metric(conn)
        budget = dict(self._per_metric)
        fresh: dict[str, series_mod.SeriesKey] = {}
        for fp, (metric, labels) in by_fp.items():
            if (metric, labels) in found:
                continue
            if budget.get(metric, 0) >= self.settings.max_series_per_metric:
                continue
            budget[metric] = budget.get(metric, 0) + 1
            fresh[fp] = (metric, labels)
        series_mod.insert_missing(conn, fresh)
        found.update(series_mod.ids_for(conn, fresh))
        for raw_key, key in canon.items():
            out[raw_key] = found.get(key, _OVER_LIMIT)
        return out, heads, [m for m, _ in fresh.values()]


def _note_stale(conn: sa.Connection, sids: np.ndarray, values: np.ndarray) -> None:
    """Mark the series given a stale marker (rare: remote write, recording rules): rollups leave
    markers out, so PromQL answers such a series' selectors from raw samples only."""
    marked = is_stale(values)
    if marked.any():
        ids = np.unique(sids[marked]).tolist()
        conn.execute(
            sa.update(series).where(series.c.id.in_(ids), ~series.c.stale_seen).values(stale_seen=True)
        )
