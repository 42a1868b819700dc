"""Aggregation operators over all steps: sum, avg, min, max, count, group, stddev, stdvar,
quantile, topk, bottomk, count_values, with ``by`` / ``without``.

Rows are folded in input order with Prometheus 2.42's arithmetic (plain running sum, the
incremental mean of avg, Welford for stddev/stdvar), one numpy operation per row over all steps.
"""

from __future__ import annotations

import re

import numpy as np

from core.promql.api_json import format_value
from core.promql.errors import PromQLEvalError
from core.promql.functions import quantile
from core.promql.result import NAME, Block, Labels, key


def group_labels(lb: Labels, labels: tuple[str, ...], without: bool) -> Labels:
    if without:
        return {k: v for k, v in lb.items() if k not in labels and k != NAME}
    return {k: v for k, v in lb.items() if k in labels}


def _groups(b: Block, labels: tuple[str, ...], without: bool) -> dict[tuple, tuple[Labels, list[int]]]:
    out: dict[tuple, tuple[Labels, list[int]]] = {}
    for i, lb in enumerate(b.labels):
        g = group_labels(lb, labels, without)
        out.setdefault(key(g), (g, []))[1].append(i)
    return out


def _fold(op: str, v: np.ndarray, p: np.ndarray) -> np.ndarray:
    """One group's rows (in order) folded into one value per step."""
    steps = v.shape[1]
    if op == "sum":  # the running sum in row order: an absent row adds -0.0, which changes no sum
        return np.cumsum(np.where(p, v, -0.0), axis=0)[-1]  # (cumsum adds in order; np.sum may pair)
    if op in ("count", "group"):
        return p.sum(axis=0, dtype=np.float64) if op == "count" else np.ones(steps)
    value, mean = np.zeros(steps), np.zeros(steps)
    count = np.zeros(steps)
    for row, here in zip(v, p, strict=True):
        first = here & (count == 0)
        later = here & (count > 0)
        count = count + here
        if op == "sum":
            value = np.where(first, row, np.where(later, value + row, value))
        elif op in ("min", "max"):
            better = row > value if op == "max" else row < value
            value = np.where(first | (later & (better | np.isnan(value))), row, value)
        elif op == "avg":
            inf = np.isinf(mean)
            skip = inf & ((np.isinf(row) & ((mean > 0) == (row > 0))) | (~np.isinf(row) & ~np.isnan(row)))
            step = mean + (row / count - mean / count)
            mean = np.where(first, row, np.where(later & ~skip, step, mean))
        elif op in ("stddev", "stdvar"):
            delta = row - mean
            new_mean = np.where(first, row, mean + delta / np.maximum(count, 1))
            value = np.where(later, value + delta * (row - new_mean), value)
            mean = np.where(here, new_mean, mean)
    if op == "avg":
        return mean
    if op in ("count", "group"):
        return count if op == "count" else np.ones(steps)
    if op == "stdvar":
        return value / count
    if op == "stddev":
        return np.sqrt(value / count)
    return value


def _rank(b: Block, groups: dict, k: np.ndarray, top: bool) -> Block:
    """topk / bottomk: each group's k best rows per step keep their own labels; NaN ranks last."""
    keep = np.zeros_like(b.present)
    order: list[list[int]] = []
    for _, rows in groups.values():
        v, p = b.values[rows], b.present[rows]
        score = np.where(np.isnan(v), -np.inf if top else np.inf, v)
        score = np.where(p, -score if top else score, np.inf)
        by_score = np.argsort(score, axis=0, kind="stable")
        ranks = np.empty_like(by_score)
        np.put_along_axis(ranks, by_score, np.arange(len(rows))[:, None].repeat(v.shape[1], 1), 0)
        keep[rows] = p & (ranks < k[None, :])
        order.append([rows[i] for i in np.argsort(ranks[:, 0], kind="stable")])
    rows_out = [r for group in order for r in group]  # an instant query lists each group best first
    return Block([b.labels[r] for r in rows_out], b.values[rows_out], keep[rows_out]).compact()


def _count_values(b: Block, label: str, labels: tuple[str, ...], without: bool) -> Block:
    if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label):
        raise PromQLEvalError(f'invalid label name "{label}"')
    group_by = labels if without else (*labels, label)
    counts: dict[tuple, tuple[Labels, np.ndarray]] = {}
    for i, lb in enumerate(b.labels):
        for val in np.unique(b.values[i][b.present[i]]):
            hit = b.present[i] & ((b.values[i] == val) | (np.isnan(val) & np.isnan(b.values[i])))
            g = group_labels({**lb, label: format_value(float(val))}, group_by, without)
            entry = counts.setdefault(key(g), (g, np.zeros(b.values.shape[1])))
            entry[1][:] += hit
    if not counts:
        return Block.empty(b.values.shape[1])
    labels_out = [g for g, _ in counts.values()]
    values = np.array([c for _, c in counts.values()])
    return Block(labels_out, values, values > 0)


def aggregate(op: str, b: Block, labels: tuple[str, ...], without: bool, param: object) -> Block:
    steps = b.values.shape[1]
    if op == "count_values":
        return _count_values(b, str(param), labels, without)
    groups = _groups(b, labels, without)
    if op in ("topk", "bottomk"):
        k = np.nan_to_num(np.asarray(param, dtype=np.float64), nan=0.0).astype(np.int64)
        return _rank(b, groups, k, op == "topk")
    out_labels, values, present = [], [], []
    for g, rows in groups.values():
        v, p = b.values[rows], b.present[rows]
        if op == "quantile":
            q = np.asarray(param, dtype=np.float64)
            values.append(quantile(q, v.T, p.T))
        else:
            values.append(_fold(op, v, p))
        out_labels.append(g)
        present.append(p.any(axis=0))
    if not out_labels:
        return Block.empty(steps)
    return Block(out_labels, np.array(values), np.array(present)).compact()
