"""PromQL rules: instant queries sent to the configured prometheus sources, or to Pulse's own store
(source omitted or ``"pulse"``, through ``local``: see core/alerts/local_promql.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.alerts.conditions import OWN_STORE, Element, PromQL
from core.alerts.local_promql import LocalPromQL
from core.kernel.settings.sources.prometheus import PrometheusSource

if TYPE_CHECKING:
    from collectors.prometheus_api import PromApi


def promql_reader(sources: Sequence[PrometheusSource], local: LocalPromQL | None = None) -> PromQL:
    """``(source, expr, at_ms) -> instant vector``; a failure raises ValueError with the reason."""
    by_name = {s.name: s for s in sources}
    apis: dict[str, PromApi] = {}

    def run(source: str, expr: str, at_ms: int) -> list[Element]:
        if source in ("", OWN_STORE) and local is not None:
            return local(expr, at_ms)
        cfg = by_name.get(source)
        if cfg is None:
            known = ", ".join(sorted(by_name)) or "none configured"
            raise ValueError(f"no prometheus source named {source!r}; prometheus sources: {known}")
        # imported on first use: the client pulls in requests (~1 s under load), which a daemon
        # start without remote PromQL rules need not pay
        from prometheus_api_client import PrometheusConnect

        from collectors.prometheus_api import PromApi, QueryFailed

        api = apis.get(source) or apis.setdefault(source, PromApi(cfg, PrometheusConnect))
        try:
            series = api.instant(expr, at_ms)
        except QueryFailed as exc:
            raise ValueError(str(exc)) from exc
        out: list[Element] = []
        for labels, points in series:
            value = float(points[-1][1])
            if math.isfinite(value):
                out.append((dict(labels), value))  # __name__ kept for templates; alerts drop it
        return out

    return run
