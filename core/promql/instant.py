"""Instant-vector and scalar functions: math, clamp, round, time and date, label_*, sort, absent.

Arguments arrive evaluated: a :class:`Block` for a vector, a per-step float array for a scalar,
a ``str`` for a string. Semantics (which functions drop ``__name__``, NaN order in sort) follow
Prometheus 2.42's promql/functions.go.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from core.kernel.selector import compile_re2
from core.promql.errors import PromQLEvalError
from core.promql.result import Block, drop_name

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_MATH: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sgn": lambda v: np.where(v < 0, -1.0, np.where(v > 0, 1.0, v)),
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "deg": lambda v: v * 180 / np.pi,
    "rad": lambda v: v * np.pi / 180,
}


def _dates(v: np.ndarray) -> dict[str, np.ndarray]:
    secs = np.nan_to_num(v).astype(np.int64)
    day = secs // 86400
    dt = day.astype("M8[D]")
    month_start = dt.astype("M8[M]")
    year = month_start.astype("M8[Y]")
    nxt = (month_start + 1).astype("M8[D]")
    return {
        "year": year.astype(np.int64) + 1970,
        "month": (month_start - year).astype(np.int64) + 1,
        "day_of_month": (dt - month_start.astype("M8[D]")).astype(np.int64) + 1,
        "day_of_year": (dt - year.astype("M8[D]")).astype(np.int64) + 1,
        "day_of_week": (day + 4) % 7,
        "days_in_month": (nxt - month_start.astype("M8[D]")).astype(np.int64),
        "hour": secs % 86400 // 3600,
        "minute": secs % 3600 // 60,
    }


DATE_FUNCTIONS = {"year", "month", "day_of_month", "day_of_year", "day_of_week", "days_in_month"}
DATE_FUNCTIONS |= {"hour", "minute"}
INSTANT_FUNCTIONS = set(_MATH) | DATE_FUNCTIONS | {"round", "clamp", "clamp_min", "clamp_max"}
INSTANT_FUNCTIONS |= {"timestamp", "time", "pi", "scalar", "vector", "sort", "sort_desc"}
INSTANT_FUNCTIONS |= {"label_replace", "label_join", "absent", "histogram_quantile"}


def _map(b: Block, values: np.ndarray, keep: np.ndarray | None = None) -> Block:
    present = b.present if keep is None else b.present & keep
    return Block([drop_name(lb) for lb in b.labels], values, present).merged()


def _expand(template: str, m: re.Match[str]) -> str:
    """Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``$$``; unknown groups are empty."""

    def one(t: re.Match[str]) -> str:
        if t[0] == "$$":
            return "$"
        name = t[1] or t[2]
        try:
            got = m.group(int(name)) if name.isdigit() else m.group(name)
        except IndexError:
            return ""
        return got or ""

    return re.sub(r"\$\$|\$\{([a-zA-Z0-9_]+)\}|\$([a-zA-Z0-9_]+)", one, template)


def label_replace(b: Block, dst: str, repl: str, src: str, regex: str) -> Block:
    try:
        pattern = compile_re2(regex)
    except ValueError as exc:
        raise PromQLEvalError(f"invalid regular expression in label_replace(): {regex}: {exc}") from None
    if not _LABEL_NAME.match(dst):
        raise PromQLEvalError(f"invalid destination label name in label_replace(): {dst}")
    out = []
    for lb in b.labels:
        m = pattern.fullmatch(lb.get(src, ""))
        if m is None:
            out.append(lb)
            continue
        res = _expand(repl, m)
        new = {k: v for k, v in lb.items() if k != dst}
        if res:
            new[dst] = res
        out.append(new)
    return Block(out, b.values, b.present).merged()


def label_join(b: Block, dst: str, sep: str, *src: str) -> Block:
    for name in (dst, *src):
        if not _LABEL_NAME.match(name):
            raise PromQLEvalError(f"invalid label name in label_join(): {name}")
    out = []
    for lb in b.labels:
        joined = sep.join(lb.get(s, "") for s in src)
        new = {k: v for k, v in lb.items() if k != dst}
        if joined:
            new[dst] = joined
        out.append(new)
    return Block(out, b.values, b.present).merged()


def _sorted(b: Block, desc: bool) -> Block:
    """Rows ordered by their first step's value (an instant query's only step), NaN last."""
    if not len(b):
        return b
    v = np.where(b.present[:, 0], b.values[:, 0], np.nan)
    order = sorted(range(len(b)), key=lambda i: (np.isnan(v[i]), -v[i] if desc else v[i]))
    return Block([b.labels[i] for i in order], b.values[order], b.present[order])


def call_instant(name: str, args: list[Any], steps: np.ndarray, plan: Any) -> Block | np.ndarray:
    """One instant function over all steps; ``plan`` is the Call node (labels for absent)."""
    from core.promql.histogram import histogram_quantile

    n = len(steps)
    if name in _MATH:
        return _map(args[0], _MATH[name](args[0].values))
    if name == "round":
        to = args[1][None, :] if len(args) > 1 else 1.0
        inverse = 1.0 / to
        return _map(args[0], np.floor(args[0].values * inverse + 0.5) / inverse)
    if name == "clamp":
        lo, hi = args[1][None, :], args[2][None, :]
        keep = np.broadcast_to(~(hi < lo), args[0].present.shape)  # Go's math.Max/Min: NaN wins
        return _map(args[0], np.maximum(lo, np.minimum(hi, args[0].values)), keep)
    if name == "clamp_min":
        return _map(args[0], np.maximum(args[1][None, :], args[0].values))
    if name == "clamp_max":
        return _map(args[0], np.minimum(args[1][None, :], args[0].values))
    if name == "timestamp":
        b = args[0]
        stamps = (
            b.sample_ts
            if plan.selector_arg and b.sample_ts is not None
            else np.broadcast_to(steps, b.values.shape)
        )
        return _map(b, stamps / 1000)
    if name in DATE_FUNCTIONS:
        b = (
            args[0]
            if args
            else Block([{}], (steps / 1000)[None, :].astype(np.float64), np.ones((1, n), bool))
        )
        return _map(b, _dates(b.values)[name].astype(np.float64))
    if name == "time":
        return steps / 1000
    if name == "pi":
        return np.full(n, np.pi)
    if name == "scalar":
        b = args[0]
        one = b.present.sum(axis=0) == 1
        return np.where(one, np.where(b.present, b.values, 0.0).sum(axis=0), np.nan)
    if name == "vector":
        return Block([{}], args[0][None, :].copy(), np.ones((1, n), bool))
    if name in ("sort", "sort_desc"):
        return _sorted(args[0], name == "sort_desc")
    if name == "label_replace":
        return label_replace(*args)
    if name == "label_join":
        return label_join(*args)
    if name == "absent":
        none = ~args[0].present.any(axis=0)
        return Block([dict(plan.absent_labels)], np.ones((1, n)), none[None, :]).compact()
    if name == "histogram_quantile":
        return histogram_quantile(args[0], args[1])
    raise AssertionError(name)
