"""The daemon's last report of its collectors' health, kept in the meta table for the dashboard."""

from __future__ import annotations

import json
from typing import Protocol

HEALTH_KEY = "collector_health"


class Meta(Protocol):
    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


def write_report(meta: Meta, report: dict[str, dict[str, object]]) -> None:
    meta.set_meta(HEALTH_KEY, json.dumps(report))


def read_report(meta: Meta) -> dict[str, dict[str, object]]:
    """Collector name -> state, last error, last success, last duration, interval ({} before the first)."""
    text = meta.get_meta(HEALTH_KEY)
    return json.loads(text) if text else {}
