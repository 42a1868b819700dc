"""The collector contract and the explicit registry (samples are in ``core.kernel.samples``).

A collector has a ``name``, an ``interval`` in seconds, a ``collect()`` that returns a list of
:class:`Sample` and a ``health`` it keeps up to date. Collectors are registered explicitly by
name in :data:`REGISTRY` (no folder scanning); settings pick which ones run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from core.kernel.errors import ConfigError
from core.kernel.samples import Sample

if TYPE_CHECKING:
    from core.kernel.settings import Settings


@dataclass
class Health:
    """What a collector reports about itself; fail soft and say why."""

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
    """``name``, ``interval`` (s), ``health``, ``collect()``; optionally ``deadline_s``, the time one
    collect() may take before the scheduler calls it hung (default: scheduler.collector_timeout_s)."""

    name: str
    interval: float
    health: Health

    def collect(self) -> list[Sample]: ...


Factory = Callable[["Settings"], Collector]
REGISTRY: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    if name in REGISTRY:
        raise ValueError(f"collector {name!r} is already registered")
    REGISTRY[name] = factory


def build_collectors(settings: Settings) -> list[Collector]:
    """Instantiate the collectors named in ``settings.collectors``; unknown names are a ConfigError."""
    import collectors.registry  # noqa: F401  (fills REGISTRY explicitly, once)

    unknown = [n for n in settings.collectors if n not in REGISTRY]
    if unknown:
        raise ConfigError(
            f"setting 'collectors': unknown collector(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(REGISTRY))}"
        )
    built = [REGISTRY[n](settings) for n in dict.fromkeys(settings.collectors)]
    return built + [collectors.registry.build_source(s) for s in settings.sources if s.enabled]
