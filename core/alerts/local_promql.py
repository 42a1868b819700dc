"""PromQL rules on Pulse's own store: the rule's expr evaluated by ``core.promql`` (no Prometheus needed).

A rule whose ``source`` is omitted or ``"pulse"`` is evaluated here, at the cycle's time, as
Prometheus' rule manager does: the result must be an instant vector (a scalar or string is an
error naming the rule's expr), NaN and infinite values are dropped like the remote path does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.alerts.conditions import Element
from core.promql import Engine, PromQLError, StoreSource, Vector

if TYPE_CHECKING:
    from core.storage.tsdb.store import Store

LocalPromQL = Callable[[str, int], list[Element]]  # (expr, at_ms) -> instant vector


def local_promql(store: Store, max_samples: int = 50_000_000, timeout_s: float = 60.0) -> LocalPromQL:
    """``(expr, at_ms) -> instant vector`` over ``store``; a failure raises ValueError with the reason."""
    engine = Engine(StoreSource(store), max_samples=max_samples, timeout_s=timeout_s)

    def run(expr: str, at_ms: int) -> list[Element]:
        try:
            with store.pinned():  # the rule's lookups and reads on one connection
                result = engine.instant(expr, at_ms)
        except PromQLError as exc:
            raise ValueError(f"PromQL on Pulse's store: {exc}") from exc
        if not isinstance(result, Vector):
            kind = type(result).__name__.lower()
            raise ValueError(
                f"PromQL on Pulse's store: {expr!r} gives a {kind}; an alert rule needs an instant vector"
            )
        return [(dict(s.labels), float(s.value)) for s in result.samples if math.isfinite(s.value)]

    return run
