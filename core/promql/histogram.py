"""``histogram_quantile`` over classic histograms (``le`` buckets), Prometheus 2.42's bucketQuantile.

Buckets are grouped by their labels without ``le``; each group is evaluated for all steps at
once when its buckets are present together (the usual case), else step by step.
"""

from __future__ import annotations

import numpy as np

from core.promql.result import NAME, Block, key


def _le(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def bucket_quantile(q: np.ndarray, bounds: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Rows of ``counts`` are buckets sorted by upper bound (unique), columns are steps."""
    steps = counts.shape[1]
    nan = np.full(steps, np.nan)
    if len(bounds) == 0 or not np.isposinf(bounds[-1]) or len(bounds) < 2:
        out = nan
    else:
        c = np.fmax.accumulate(counts, axis=0)  # ensureMonotonic
        total = c[-1]
        rank = q * total
        reached = c[:-1] >= rank[None, :]
        b = np.where(reached.any(axis=0), reached.argmax(axis=0), len(bounds) - 1)
        prev = np.maximum(b - 1, 0)
        cols = np.arange(steps)
        start = np.where(b > 0, bounds[prev], 0.0)
        inside = np.minimum(np.maximum(b, 0), len(bounds) - 1)
        end = bounds[inside]
        count = c[inside, cols] - np.where(b > 0, c[prev, cols], 0.0)
        r = rank - np.where(b > 0, c[prev, cols], 0.0)
        out = start + (end - start) * (r / count)
        out = np.where(b == len(bounds) - 1, bounds[-2], out)
        out = np.where((b == 0) & (bounds[0] <= 0), bounds[0], out)
        out = np.where(total == 0, np.nan, out)
    out = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, out))
    return np.where(np.isnan(q), np.nan, out)


def _group(q: np.ndarray, bounds: np.ndarray, values: np.ndarray, present: np.ndarray) -> np.ndarray:
    order = np.argsort(bounds, kind="stable")
    bounds, values, present = bounds[order], values[order], present[order]
    uniq, inverse = np.unique(bounds, return_inverse=True)
    uniform = (present == present[0]).all(axis=0)
    out = np.full(values.shape[1], np.nan)
    if uniform.any():
        summed = np.zeros((len(uniq), values.shape[1]))
        np.add.at(summed, inverse, np.where(present, values, 0.0))
        out = np.where(uniform, bucket_quantile(q, uniq, summed), out)
    for s in np.flatnonzero(~uniform):
        rows = present[:, s]
        u, inv = np.unique(bounds[rows], return_inverse=True)
        summed_s = np.zeros((len(u), 1))
        np.add.at(summed_s, inv, values[rows, s][:, None])
        out[s] = bucket_quantile(q[s : s + 1], u, summed_s)[0]
    return out


def histogram_quantile(q: np.ndarray, b: Block) -> Block:
    groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
    bounds: list[float] = []
    rows: list[int] = []
    for i, lb in enumerate(b.labels):
        le = _le(lb.get("le"))
        if le is None:
            continue
        rest = {k: v for k, v in lb.items() if k != "le"}
        groups.setdefault(key(rest), []).append(len(rows))
        rows.append(i)
        bounds.append(le)
    labels, values, present = [], [], []
    bounds_arr, rows_arr = np.array(bounds), np.array(rows, dtype=np.int64)
    for gkey, members in groups.items():
        idx = rows_arr[members]
        pres = b.present[idx]
        labels.append({k: v for k, v in gkey if k != NAME})
        values.append(_group(q, bounds_arr[members], b.values[idx], pres))
        present.append(pres.any(axis=0))
    if not labels:
        return Block.empty(b.values.shape[1])
    return Block(labels, np.array(values), np.array(present)).merged()
