"""A rule's values over a whole range of evaluation times at once (range evaluation).

The step-by-step engine asks the store, at every evaluation time ``t``, for each series'
aggregation over the raw samples in ``[t - window, t)``. Here the samples of each selector are
read ONCE for the whole range and the windows of every step are computed as arrays: sums and
counts (avg, sum, count, rate, increase) from prefix sums, min, max, last and quantile from a
gather of each window's samples. The result is one float array per label set (NaN where the
label set has no value at that step), which :mod:`core.alerts.range_eval` turns into the
per-step element lists the state machine sees.

Range-evaluable: Pulse-selector rules with the threshold, absent, change and predict
conditions (with ``divide_by``, ``across``/``by``). Not range-evaluable: ``anomaly`` (its
baseline buckets move with every step) and ``promql`` rules; :func:`range_evaluable` says so
and the caller evaluates those step by step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
import polars as pl

from core.alerts.conditions import MIN_TREND_POINTS, RAW_WINDOW_MS, TREND_POINTS
from core.alerts.rules import Rule
from core.storage.tsdb.query import LOOKBACK_MS

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Key = tuple[tuple[str, str], ...]
MAX_GATHER = 4_000_000  # cells of one (steps x window samples) gather before it is done in slices


class RawReader(Protocol):
    def series(self, selector: str) -> pl.DataFrame: ...

    def raw_arrays(
        self, ids: Sequence[int], start_ms: int, end_ms: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...


@dataclass
class Values:
    """Per label set: its labels and its value at every step (NaN: no value)."""

    labels: dict[Key, dict[str, str]] = field(default_factory=dict)
    values: dict[Key, F64] = field(default_factory=dict)


def range_evaluable(rule: Rule) -> str | None:
    """None when the rule can be evaluated over a range, else why not."""
    if rule.promql is not None:
        return "a promql rule is evaluated by its Prometheus source, one instant at a time"
    if rule.condition == "anomaly":
        return "the anomaly baseline's buckets move with every evaluation"
    if rule.condition in ("forecast", "anomaly_score"):
        return f"condition {rule.condition} fits a model per evaluation (too costly per step)"
    if rule.condition == "predict":
        w = int(rule.window_s * 1000)
        if w % max(w // TREND_POINTS, 1000):
            return "the trend buckets do not divide the window"
        if rule.over in ("rate", "increase", "quantile"):
            return f"the trend of over={rule.over} buckets reads rollups"
    elif rule.window_s * 1000 > RAW_WINDOW_MS:
        return "windows over an hour read rollups"
    return None


def _key(labels: dict[str, str]) -> Key:
    return tuple(sorted(labels.items()))


class _Series:
    """One series' samples, sorted by time."""

    def __init__(self, ts: I64, v: F64) -> None:
        self.ts, self.v = ts, v
        self.cs = np.concatenate([[0.0], np.cumsum(v)])
        prev_v, prev_t = np.roll(v, 1), np.roll(ts, 1)
        d = np.where(v >= prev_v, v - prev_v, v)  # a drop: the counter restarted from zero
        d[:1] = 0.0
        dt = (ts - prev_t).astype(np.float64)
        dt[:1] = 0.0
        self.prev_t = np.where(np.arange(ts.size) > 0, prev_t, np.iinfo(np.int64).min // 2)
        self.cd = np.concatenate([[0.0], np.cumsum(d)])
        self.cdt = np.concatenate([[0.0], np.cumsum(dt)])
        self.d = d
        self.dt = dt


def _gather(s: _Series, lo: I64, hi: I64, fn: str, quantile: float) -> F64:
    n = hi - lo
    out = np.full(lo.size, np.nan)
    width = int(n.max()) if n.size else 0
    if width == 0:
        return out
    rows = max(1, MAX_GATHER // width)
    for a in range(0, lo.size, rows):
        b = min(lo.size, a + rows)
        idx = lo[a:b, None] + np.arange(width)[None, :]
        mask = idx < hi[a:b, None]
        cells = np.where(mask, s.v[np.minimum(idx, s.v.size - 1)], np.nan)
        has = n[a:b] > 0
        with np.errstate(all="ignore"):
            if fn == "min":
                part = np.nanmin(np.where(has[:, None], cells, 0.0), axis=1)
            elif fn == "max":
                part = np.nanmax(np.where(has[:, None], cells, 0.0), axis=1)
            else:
                part = np.nanquantile(np.where(has[:, None], cells, 0.0), quantile, axis=1)
        out[a:b] = np.where(has, part, np.nan)
    return out


def window_values(s: _Series, ends: I64, width_ms: int, over: str, quantile: float) -> F64:
    """The over-time aggregation of samples in [end - width, end) for every end."""
    lo = np.searchsorted(s.ts, ends - width_ms, "left").astype(np.int64)
    hi = np.searchsorted(s.ts, ends, "left").astype(np.int64)
    n = (hi - lo).astype(np.float64)
    empty = n == 0
    with np.errstate(all="ignore"):
        if over in ("rate", "increase"):
            # as the store: each sample's delta from the one before it, if that one lies within
            # the read's lookback (the window's step is width + 1)
            lookback = max(width_ms + 1, LOOKBACK_MS)
            first = np.minimum(lo, s.ts.size - 1)
            drop = (~empty) & ((lo == 0) | (s.prev_t[first] < ends - width_ms - lookback))
            d = s.cd[hi] - s.cd[lo] - np.where(drop, s.d[first], 0.0)
            dt = s.cdt[hi] - s.cdt[lo] - np.where(drop, s.dt[first], 0.0)
            valid = n - drop > 0
            val = d if over == "increase" else d / dt * 1000
            return np.where(valid, val, np.nan)
        if over == "avg":
            return np.where(empty, np.nan, (s.cs[hi] - s.cs[lo]) / n)
        if over == "sum":
            return np.where(empty, np.nan, s.cs[hi] - s.cs[lo])
        if over == "count":
            return np.where(empty, np.nan, n)
        if over == "last":
            return np.where(empty, np.nan, s.v[np.maximum(hi - 1, 0)] if s.v.size else np.nan)
    return _gather(s, lo, hi, over, quantile)


def _across(stack: F64, how: str, quantile: float) -> F64:
    present = ~np.isnan(stack)
    n = present.sum(axis=0)
    with np.errstate(all="ignore"):
        if how == "avg":
            out = np.nansum(stack, axis=0) / n
        elif how == "sum":
            out = np.nansum(stack, axis=0)
        elif how == "count":
            out = n.astype(np.float64)
        elif how == "min":
            out = np.nanmin(np.where(present, stack, np.inf), axis=0)
        elif how == "max":
            out = np.nanmax(np.where(present, stack, -np.inf), axis=0)
        else:
            out = np.nanquantile(np.where(n > 0, stack, 0.0), quantile, axis=0)
    return np.where(n > 0, out, np.nan)


class SelectorData:
    """The samples of one selector over the whole range, read once."""

    def __init__(self, store: RawReader, selector: str, start_ms: int, end_ms: int) -> None:
        found = store.series(selector)
        ids: list[int] = found["id"].to_list()
        self.labels: list[dict[str, str]] = [dict(lb) for lb in found["labels"].to_list()]
        self.series: list[_Series] = []
        sid, ts, value = store.raw_arrays(ids, start_ms, end_ms) if ids else (np.zeros(0, np.int64),) * 3
        for i in ids:
            a, b = np.searchsorted(sid, i, "left"), np.searchsorted(sid, i, "right")
            self.series.append(_Series(np.asarray(ts[a:b], np.int64), np.asarray(value[a:b], np.float64)))


def aggregate(data: SelectorData, rule: Rule, ends: I64, width_ms: int) -> Values:
    """The rule's windowed value (over time, then across series ``by`` its labels) at every end."""
    out = Values()
    per = [window_values(s, ends, width_ms, rule.over, rule.quantile) for s in data.series]
    if rule.across is None:
        for lb, v in zip(data.labels, per, strict=True):
            if not np.isnan(v).all():
                k = _key(lb)
                out.labels[k], out.values[k] = lb, v
        return out
    groups: dict[Key, list[F64]] = {}
    for lb, v in zip(data.labels, per, strict=True):
        k = tuple((b, lb[b]) for b in rule.by if lb.get(b) is not None)
        groups.setdefault(k, []).append(v)
    for k, vs in groups.items():
        v = _across(np.vstack(vs), rule.across, rule.quantile)
        if not np.isnan(v).all():
            out.labels[k], out.values[k] = dict(k), v
    return out


def _divide(num: Values, den: Values, low: float) -> Values:
    out = Values()
    for k, v in num.values.items():
        d = den.values.get(k)
        if d is None:
            continue
        with np.errstate(all="ignore"):
            ok = ~np.isnan(d) & (d != 0) & (d >= low)
            q = np.where(ok, v / np.where(ok, d, 1.0), np.nan)
        if not np.isnan(q).all():
            out.labels[k], out.values[k] = num.labels[k], q
    return out


class RangeReader:
    """Reads each selector once for the whole history; rules sharing a selector share the read."""

    def __init__(self, store: RawReader, start_ms: int, end_ms: int) -> None:
        self.store, self.start_ms, self.end_ms = store, start_ms, end_ms
        self.cache: dict[str, SelectorData] = {}
        self.reads = 0

    def data(self, selector: str) -> SelectorData:
        if selector not in self.cache:
            self.cache[selector] = SelectorData(self.store, selector, self.start_ms, self.end_ms)
            self.reads += 1
        return self.cache[selector]


def _windowed(reader: RangeReader, rule: Rule, ends: I64, width_ms: int) -> Values:
    assert rule.query is not None
    num = aggregate(reader.data(rule.query), rule, ends, width_ms)
    if rule.divide_by is None:
        return num
    return _divide(num, aggregate(reader.data(rule.divide_by), rule, ends, width_ms), rule.min_divisor)


def _trend(reader: RangeReader, rule: Rule, steps: I64) -> Values:
    """condition=predict: the least-squares line through the window's buckets, at now + horizon."""
    w = int(rule.window_s * 1000)
    bw = max(w // TREND_POINTS, 1000)
    buckets = [_windowed(reader, rule, steps - w + (j + 1) * bw, bw) for j in range(w // bw)]
    out = Values()
    keys = {k for b in buckets for k in b.values}
    horizon = rule.horizon_s * 1000
    for k in keys:
        vs = np.vstack([b.values.get(k, np.full(steps.size, np.nan)) for b in buckets])  # (J, K)
        xs = (np.arange(len(buckets)) * bw - w).astype(np.float64)[:, None] * np.ones((1, steps.size))
        has = ~np.isnan(vs)
        n = has.sum(axis=0).astype(np.float64)
        x, v = np.where(has, xs, 0.0), np.where(has, vs, 0.0)
        with np.errstate(all="ignore"):
            mx, mv = x.sum(axis=0) / n, v.sum(axis=0) / n
            cx = np.where(has, xs - mx, 0.0)
            slope = (cx * (v - np.where(has, mv, 0.0))).sum(axis=0) / (cx * cx).sum(axis=0)
            pred = mv + slope * (horizon - mx)
        val = np.where(n >= MIN_TREND_POINTS, pred, np.nan)
        if not np.isnan(val).all():
            labels = next(b.labels[k] for b in buckets if k in b.labels)
            out.labels[k], out.values[k] = labels, val
    return out


def rule_range_values(reader: RangeReader, rule: Rule, steps: I64) -> Values:
    """The value each label set's condition compares, at every step (see range_evaluable)."""
    if rule.condition == "predict":
        return _trend(reader, rule, steps)
    w = int(rule.window_s * 1000)
    now = _windowed(reader, rule, steps, w)
    if rule.condition != "change":
        return now
    before = _windowed(reader, rule, steps - int(rule.change_window_s * 1000), w)
    out = Values()
    for k, v in now.values.items():
        old = before.values.get(k)
        if old is None:
            continue
        with np.errstate(all="ignore"):
            ok = ~np.isnan(old) & (old != 0)
            ch = np.where(ok, (v - old) / np.abs(np.where(ok, old, 1.0)), np.nan)
        if not np.isnan(ch).all():
            out.labels[k], out.values[k] = now.labels[k], ch
    return out
