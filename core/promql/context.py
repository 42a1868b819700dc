"""The evaluation context: the steps being evaluated and what every node needs to know."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.promql.source import Source

LOOKBACK_MS = 5 * 60_000
DEFAULT_SUBQUERY_STEP_MS = 60_000  # Prometheus' default global evaluation_interval


@dataclass(frozen=True)
class Ctx:
    steps: np.ndarray  # int64 ms, the evaluation times
    source: Source
    start_ms: int  # the query's start and end: what @ start() and @ end() mean
    end_ms: int
    lookback_ms: int = LOOKBACK_MS
    subquery_step_ms: int = DEFAULT_SUBQUERY_STEP_MS

    def at_steps(self, steps: np.ndarray) -> Ctx:
        return replace(self, steps=steps)
