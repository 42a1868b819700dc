"""The one registry of collectors: a name -> a lazy factory, for built-ins and source kinds alike.

Built-ins ("host", "demo") are picked by the ``collectors`` setting and built from the whole
:class:`Settings`; source kinds ("prometheus", "scrape", "mcp", "process", "postgres") are picked by
the ``kind`` of a ``[[sources]]`` table and built from that source's settings. A factory is given
as ``"module:attr"`` and imported when first built, so an installation that probes no MCP server
never loads the MCP SDK. A name is registered once: a duplicate raises. No folder scanning.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collectors.base import Collector
from core.kernel.errors import ConfigError

if TYPE_CHECKING:
    from core.kernel.settings import Settings
    from core.kernel.settings.sources import SourceBase

Factory = Callable[[Any], Collector]  # a built-in's takes the Settings; a source kind's, its source


@dataclass
class Entry:
    """One registered name: its factory (or ``"module:attr"`` until first built) and its role."""

    target: str | Factory
    source: bool  # a source kind (``[[sources]] kind``), else a built-in (``collectors = [...]``)

    def factory(self) -> Factory:
        """The factory, its module imported on the first call."""
        if isinstance(self.target, str):
            module, _, attr = self.target.partition(":")
            resolved: Factory = getattr(importlib.import_module(module), attr)
            self.target = resolved
            return resolved
        return self.target


REGISTRY: dict[str, Entry] = {}


def register(name: str, factory: str | Factory, *, source: bool = False) -> None:
    """Register a built-in (or, with ``source=True``, a source kind); a name already taken raises."""
    if name in REGISTRY:
        raise ValueError(f"collector {name!r} is already registered")
    if isinstance(factory, str) and not all(factory.partition(":")[::2]):
        raise ValueError(f"collector {name!r}: a lazy factory is 'module:attr', got {factory!r}")
    REGISTRY[name] = Entry(factory, source)


def known(*, source: bool) -> list[str]:
    """The registered built-ins (or source kinds), sorted."""
    return sorted(n for n, e in REGISTRY.items() if e.source is source)


def build_collectors(settings: Settings) -> list[Collector]:
    """The built-ins named in ``settings.collectors`` (unknown names are a ConfigError), then one
    collector per enabled source."""
    builtins = known(source=False)
    unknown = [n for n in settings.collectors if n not in builtins]
    if unknown:
        raise ConfigError(
            f"setting 'collectors': unknown collector(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(builtins)}"
        )
    built = [REGISTRY[n].factory()(settings) for n in dict.fromkeys(settings.collectors)]
    return built + [build_source(s) for s in settings.sources if s.enabled]


def build_source(cfg: SourceBase) -> Collector:
    """The collector of one configured source, built by its kind's factory from its settings."""
    entry = REGISTRY.get(cfg.kind)
    if entry is None or not entry.source:
        raise ConfigError(
            f"setting 'sources': source {cfg.name!r} has unknown kind {cfg.kind!r}; "
            f"known: {', '.join(known(source=True))}"
        )
    return entry.factory()(cfg)


register("host", "collectors.host:from_settings")
register("demo", "collectors.demo.collector:from_settings")
register("prometheus", "collectors.prometheus:PrometheusCollector", source=True)
register("scrape", "collectors.scrape:ScrapeCollector", source=True)
register("mcp", "collectors.mcp_probe:McpProbeCollector", source=True)
register("process", "collectors.process:ProcessCollector", source=True)
register("postgres", "collectors.postgres:PostgresCollector", source=True)
