"""The evaluation context: the steps being evaluated and what every node needs to know."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from core.promql.errors import PromQLEvalError
from core.promql.source import Source

LOOKBACK_MS = 5 * 60_000
DEFAULT_SUBQUERY_STEP_MS = 60_000  # Prometheus' default global evaluation_interval


MAX_SAMPLES = 50_000_000  # Prometheus' --query.max-samples default
TIMEOUT_S = 120.0  # Prometheus' --query.timeout default


class Budget:
    """One query's limits: raw samples read (a stricter stand-in for Prometheus' peak count of
    samples in memory) and wall-clock time."""

    def __init__(self, max_samples: int = MAX_SAMPLES, timeout_s: float = TIMEOUT_S) -> None:
        self.max_samples, self.samples = max_samples, 0
        self.deadline = time.monotonic() + timeout_s

    def read(self, samples: int) -> None:
        self.samples += samples
        if self.samples > self.max_samples:
            raise PromQLEvalError(
                "query processing would load too many samples into memory in query execution"
            )
        self.tick()

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise PromQLEvalError("query timed out in expression evaluation")


@dataclass(frozen=True)
class Ctx:
    steps: np.ndarray  # int64 ms, the evaluation times
    source: Source
    start_ms: int  # the query's start and end: what @ start() and @ end() mean
    end_ms: int
    lookback_ms: int = LOOKBACK_MS
    subquery_step_ms: int = DEFAULT_SUBQUERY_STEP_MS
    budget: Budget = field(default_factory=Budget)

    def at_steps(self, steps: np.ndarray) -> Ctx:
        return replace(self, steps=steps)
