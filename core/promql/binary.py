"""Binary operators over all steps: arithmetic, comparison (filter or ``bool``), ``atan2`` and the
set operators, with ``on`` / ``ignoring`` and ``group_left`` / ``group_right`` vector matching.

Follows Prometheus 2.42's engine.go (VectorBinop, resultMetric, VectorAnd/Or/Unless), including
its errors for ambiguous matches, checked step by step.
"""

from __future__ import annotations

import numpy as np

from core.promql.errors import PromQLEvalError
from core.promql.parse import Binary
from core.promql.result import NAME, Block, Labels, drop_name, fmt

ARITHMETIC = {"+", "-", "*", "/", "%", "^", "atan2"}
COMPARISON = {"==", "!=", ">", "<", ">=", "<="}
_DROPS_NAME = {"+", "-", "*", "/", "%", "^"}


def elementwise(op: str, lhs: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value, keep): arithmetic keeps all; a comparison keeps the left value where it holds."""
    if op == "+":
        return lhs + rhs, np.ones(np.shape(lhs + rhs), bool)
    if op == "-":
        out = lhs - rhs
    elif op == "*":
        out = lhs * rhs
    elif op == "/":
        out = lhs / rhs
    elif op == "%":
        out = np.fmod(lhs, rhs)
    elif op == "^":
        out = np.power(lhs, rhs)
    elif op == "atan2":
        out = np.arctan2(lhs, rhs)
    else:
        holds = {
            "==": np.equal,
            "!=": np.not_equal,
            ">": np.greater,
            "<": np.less,
            ">=": np.greater_equal,
            "<=": np.less_equal,
        }[op](lhs, rhs)
        return np.broadcast_to(lhs, holds.shape).astype(np.float64), holds
    return out, np.ones(np.shape(out), bool)


def scalar_scalar(op: str, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    value, keep = elementwise(op, lhs, rhs)
    return keep.astype(np.float64) if op in COMPARISON else value


def vector_scalar(op: str, b: Block, s: np.ndarray, swap: bool, is_bool: bool) -> Block:
    lhs, rhs = (s[None, :], b.values) if swap else (b.values, s[None, :])
    value, keep = elementwise(op, lhs, rhs)
    if op in COMPARISON and swap:
        value = np.broadcast_to(rhs, keep.shape).astype(np.float64)
    if is_bool:
        value, keep = keep.astype(np.float64), np.ones_like(keep)
    drop = op in _DROPS_NAME or is_bool
    labels = [drop_name(lb) for lb in b.labels] if drop else list(b.labels)
    return Block(labels, value, b.present & keep).merged()


def signature(lb: Labels, on: bool, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    if on:
        return tuple((n, lb.get(n, "")) for n in sorted(set(names)))
    skip = {*names, NAME}
    return tuple(sorted((k, v) for k, v in lb.items() if k not in skip))


def result_metric(lhs: Labels, rhs: Labels, e: Binary) -> Labels:
    out = dict(lhs)
    if e.op in _DROPS_NAME:
        out.pop(NAME, None)
    if e.card == "one-to-one":
        out = {k: v for k, v in out.items() if (k in e.labels) == e.on}
    for name in e.include:
        if rhs.get(name, ""):
            out[name] = rhs[name]
        else:
            out.pop(name, None)
    if e.bool:
        out.pop(NAME, None)
    return out


def set_operation(e: Binary, lhs: Block, rhs: Block) -> Block:
    steps = lhs.values.shape[1]
    sig_l = [signature(lb, e.on, e.labels) for lb in lhs.labels]
    sig_r = [signature(lb, e.on, e.labels) for lb in rhs.labels]

    def any_by_sig(sigs: list, b: Block) -> dict:
        out: dict = {}
        for sig, pres in zip(sigs, b.present, strict=True):
            out[sig] = out.get(sig, np.zeros(steps, bool)) | pres
        return out

    none = np.zeros(steps, bool)
    if e.op in ("and", "unless"):
        right = any_by_sig(sig_r, rhs)
        hit = np.array([right.get(s, none) for s in sig_l], dtype=bool).reshape(lhs.present.shape)
        present = lhs.present & (hit if e.op == "and" else ~hit)
        return Block(list(lhs.labels), lhs.values, present).compact()
    left = any_by_sig(sig_l, lhs)
    hit_r = np.array([left.get(s, none) for s in sig_r], dtype=bool).reshape(rhs.present.shape)
    labels = list(lhs.labels) + list(rhs.labels)
    values = np.concatenate([lhs.values, rhs.values])
    present = np.concatenate([lhs.present, rhs.present & ~hit_r])
    return Block(labels, values, present).merged()


def vector_vector(e: Binary, lhs: Block, rhs: Block) -> Block:
    swap = e.card == "one-to-many"
    many, one = (rhs, lhs) if swap else (lhs, rhs)
    sig_m = [signature(lb, e.on, e.labels) for lb in many.labels]
    by_sig: dict = {}
    for j, lb in enumerate(one.labels):
        by_sig.setdefault(signature(lb, e.on, e.labels), []).append(j)
    for sig, rows in by_sig.items():
        if len(rows) > 1 and (one.present[rows].sum(axis=0) > 1).any():
            side = "left" if swap else "right"
            names = [fmt(one.labels[r]) for r in rows[:2]]
            raise PromQLEvalError(
                f"found duplicate series for the match group {fmt(dict(sig))} on the {side} hand-side of the "
                f"operation: {names};many-to-many matching not allowed: matching labels must be unique on one side"
            )
    out_labels, values, present, groups = [], [], [], []
    for i, sig in enumerate(sig_m):
        for j in by_sig.get(sig, []):
            both = many.present[i] & one.present[j]
            if not both.any():
                continue
            vl, vr = (one.values[j], many.values[i]) if swap else (many.values[i], one.values[j])
            value, keep = elementwise(e.op, vl, vr)
            if e.bool:
                value, keep = keep.astype(np.float64), np.ones_like(keep)
            metric = result_metric(many.labels[i], one.labels[j], e)
            out_labels.append(metric)
            values.append(value)
            present.append(both & keep)
            groups.append(sig if e.card == "one-to-one" else (sig, tuple(sorted(metric.items()))))
    if not out_labels:
        return Block.empty(lhs.values.shape[1])
    pres = np.array(present)
    seen: dict = {}
    for g, p in zip(groups, pres, strict=True):
        if g in seen and (seen[g] & p).any():
            if e.card == "one-to-one":
                raise PromQLEvalError(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                )
            raise PromQLEvalError("multiple matches for labels: grouping labels must ensure unique matches")
        seen[g] = seen.get(g, np.zeros_like(p)) | p
    return Block(out_labels, np.array(values), pres).merged()
