"""The explicit list of built-in collectors and source kinds. Imported once by ``build_collectors``.

Source kinds are imported when a source of that kind is configured, so an installation that
probes no MCP server never loads the MCP SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from collectors.base import Collector, register
from collectors.demo import DemoCollector
from collectors.host import HostCollector

if TYPE_CHECKING:
    from core.kernel.settings import Settings
    from core.kernel.settings.sources import SourceBase

SOURCE_KINDS: dict[str, str] = {
    "prometheus": "collectors.prometheus:PrometheusCollector",
    "scrape": "collectors.scrape:ScrapeCollector",
    "mcp": "collectors.mcp_probe:McpProbeCollector",
    "process": "collectors.process:ProcessCollector",
    "postgres": "collectors.postgres:PostgresCollector",
}


def _host(settings: Settings) -> Collector:
    return HostCollector(settings.host.interval_s)


def _demo(settings: Settings) -> Collector:
    return DemoCollector(settings.demo)


register("host", _host)
register("demo", _demo)


def build_source(cfg: SourceBase) -> Collector:
    """The collector of one configured source (its class takes the source's settings)."""
    module, cls = SOURCE_KINDS[cfg.kind].split(":")
    collector: Collector = getattr(importlib.import_module(module), cls)(cfg)
    return collector
