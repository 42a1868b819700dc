"""The collector contract: a base class, the health it carries, and the protocol the scheduler runs.

A collector is one subclass of :class:`BaseCollector` (or :class:`SourceCollector`, for a
configured source) that implements ``collect()``:

* it returns a list of :class:`Sample`, or raises. A ``CollectorError`` (``core.kernel.errors``)
  says why in the collector's own words; a ``CollectFailed`` also carries the samples the failed
  collection still measured (``pulse_scrape_up 0``), which the scheduler writes;
* it never books its own success or failure: ``health.ok``, ``last_success_ms``, ``last_error``,
  ``last_duration_s`` and ``consecutive_failures`` are the scheduler's alone, booked once per run;
* what went partly wrong, or is worth showing, goes in ``health.extra`` (``partial_errors``
  makes the state "degraded"; ``notes``, counters): ``extra`` is the collector's.

Collectors are registered by name in :mod:`collectors.registry`; settings pick which ones run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from core.kernel.samples import Sample
from core.kernel.settings.sources.common import SourceBase


@dataclass
class Health:
    """What is known of a collector; fail soft and say why.

    ``success``/``failure`` are called by the scheduler only; ``extra`` is filled by the collector.
    """

    ok: bool = True
    last_success_ms: int | None = None
    last_error: str | None = None
    last_duration_s: float = 0.0
    consecutive_failures: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        """up; degraded (part of the last collection failed, or a failure streak under 3); down."""
        if self.ok:
            return "degraded" if self.extra.get("partial_errors") else "up"
        return "down" if self.consecutive_failures >= 3 else "degraded"

    def success(self, duration_s: float, at_ms: int) -> None:
        self.ok, self.last_success_ms, self.last_error = True, at_ms, None
        self.last_duration_s, self.consecutive_failures = duration_s, 0

    def failure(self, reason: str, duration_s: float) -> None:
        self.ok, self.last_error, self.last_duration_s = False, reason, duration_s
        self.consecutive_failures += 1


@runtime_checkable
class Collector(Protocol):
    """What the scheduler runs: ``name``, ``interval`` (s), ``health``, ``collect()``; optionally
    ``deadline_s``, the time one collect() may take before the scheduler calls it hung (None or
    absent: ``scheduler.collector_timeout_s``)."""

    name: str
    interval: float
    health: Health

    def collect(self) -> list[Sample]: ...


@runtime_checkable
class Streaming(Protocol):
    """A collector that can hand its samples over in batches while it collects (a huge scrape
    body), so they need not all be held at once. Before each run the scheduler sets ``sink`` to a
    staging area it keeps only if collect() then succeeds, as Prometheus commits or rolls back a
    scrape's appender; what collect() returns is added after the batches. ``None``: return all."""

    sink: Callable[[list[Sample]], None] | None


class BaseCollector(ABC):
    """Owns ``name``, ``interval`` (s), ``deadline_s`` and a fresh ``health``; subclasses collect."""

    def __init__(self, name: str, interval: float, deadline_s: float | None = None) -> None:
        self.name = name
        self.interval = interval
        self.deadline_s = deadline_s
        self.health = Health()

    @abstractmethod
    def collect(self) -> list[Sample]:
        """One collection: the samples, or an exception saying why (see the module docstring)."""


Cfg = TypeVar("Cfg", bound=SourceBase)


class SourceCollector(BaseCollector, Generic[Cfg]):
    """The collector of one configured source: name, interval and deadline come from ``cfg``."""

    deadline_s: float  # a source always has one (``SourceBase.deadline_s``)

    def __init__(self, cfg: Cfg) -> None:
        super().__init__(cfg.name, cfg.interval_s, cfg.deadline_s)
        self.cfg = cfg
