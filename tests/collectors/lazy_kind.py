"""A source kind for the registry test: imported only when a source of its kind is built."""

from __future__ import annotations

from collectors.base import SourceCollector
from core.kernel.samples import Sample
from core.kernel.settings.sources import SourceBase


class LazyCollector(SourceCollector[SourceBase]):
    def collect(self) -> list[Sample]:
        return []
