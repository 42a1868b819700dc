"""Settings of the real sources Pulse collects from, one model per kind.

``[[sources]]`` tables in ``pulse.toml`` (or ``PULSE_SOURCES`` as JSON) pick a model by ``kind``:
prometheus, scrape, mcp, process, postgres. Each source becomes one collector named after it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from core.kernel.settings.sources.common import SourceBase
from core.kernel.settings.sources.mcp import McpServer, McpSource
from core.kernel.settings.sources.postgres import PostgresSource
from core.kernel.settings.sources.process import ProcessGroup, ProcessSource
from core.kernel.settings.sources.prometheus import PrometheusSource, PromQuery
from core.kernel.settings.sources.scrape import ScrapeSource

SourceSettings = Annotated[
    PrometheusSource | ScrapeSource | McpSource | ProcessSource | PostgresSource,
    Field(discriminator="kind"),
]

__all__ = [
    "McpServer",
    "McpSource",
    "PostgresSource",
    "ProcessGroup",
    "ProcessSource",
    "PromQuery",
    "PrometheusSource",
    "ScrapeSource",
    "SourceBase",
    "SourceSettings",
]
