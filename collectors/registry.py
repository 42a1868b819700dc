"""The explicit list of built-in collectors. Imported once by ``build_collectors``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collectors.base import Collector, register
from collectors.demo import DemoCollector
from collectors.host import HostCollector

if TYPE_CHECKING:
    from core.config import Settings


def _host(settings: Settings) -> Collector:
    return HostCollector(settings.host.interval_s)


def _demo(settings: Settings) -> Collector:
    return DemoCollector(settings.demo)


register("host", _host)
register("demo", _demo)
