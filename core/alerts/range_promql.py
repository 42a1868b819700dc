"""A PromQL rule's values over a stretch of history, read from Pulse's own store.

The rule's expr runs as range queries of ``core.promql`` (a range query is, in Prometheus as
here, the instant query at every step), in pieces of at most ``MAX_POINTS`` steps, at the
steps the daemon would have evaluated it. As in :mod:`core.alerts.local_promql`, the result
must be an instant vector and NaN or infinite values are dropped. A rule sent to a remote
Prometheus source is not evaluated over history: Pulse cannot know what that server held then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np

from core.alerts.conditions import Element
from core.alerts.conditions.base import OWN_STORE
from core.alerts.range_values import Values
from core.alerts.rules import Rule
from core.promql import Engine, PromQLError, StoreSource
from core.promql.api import MAX_POINTS
from core.promql.parse import parse

if TYPE_CHECKING:
    from core.storage.tsdb.store import Store


def remote_source(rule: Rule) -> str | None:
    """Why a promql rule cannot be evaluated over history (its source is remote), or None."""
    if rule.promql is None or rule.source in (None, "", OWN_STORE):
        return None
    return (
        f"promql on the Prometheus source {rule.source!r}: what that server held in the past is not"
        " in Pulse's store, so its history cannot be replayed here"
    )


def promql_range_values(
    store: object, expr: str, steps: np.ndarray, max_samples: int = 50_000_000, timeout_s: float = 120.0
) -> Values:
    """The value of ``expr`` at each of ``steps`` (evenly spaced), per label set; ValueError with
    the reason when it cannot be evaluated (bad PromQL, not an instant vector, too costly)."""
    out = Values()
    if steps.size == 0:
        return out
    try:
        plan = parse(expr)
    except PromQLError as exc:
        raise ValueError(f"PromQL on Pulse's store: {exc}") from exc
    if plan.type != "vector":
        raise ValueError(
            f"PromQL on Pulse's store: {expr!r} gives a {plan.type}; an alert rule needs an instant vector"
        )
    every = int(steps[1] - steps[0]) if steps.size > 1 else 60_000
    engine = Engine(StoreSource(cast("Store", store)), max_samples=max_samples, timeout_s=timeout_s)
    for lo in range(0, steps.size, MAX_POINTS):
        piece = steps[lo : lo + MAX_POINTS]
        try:
            matrix = engine.range(plan, int(piece[0]), int(piece[-1]), every)
        except PromQLError as exc:
            raise ValueError(f"PromQL on Pulse's store: {exc}") from exc
        for s in matrix.series:
            key = tuple(sorted(s.labels.items()))
            row = out.values.get(key)
            if row is None:
                row = out.values[key] = np.full(steps.size, np.nan)
                out.labels[key] = dict(s.labels)
            ok = np.isfinite(s.values)
            row[(s.ts[ok] - int(steps[0])) // every] = s.values[ok]
    return out


def step_elements(vals: Values) -> dict[int, list[Element]]:
    """Step index -> the instant vector there (what the daemon's rule would have seen)."""
    out: dict[int, list[Element]] = {}
    for key, v in vals.values.items():
        for k in np.nonzero(~np.isnan(v))[0]:
            out.setdefault(int(k), []).append((dict(vals.labels[key]), float(v[k])))
    return out
