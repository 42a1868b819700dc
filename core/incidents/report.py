"""The post-incident report: overview, impact window, affected objects, timeline, contributing
alerts, action items and the charts of the involved metrics around the window.

``build_report`` is pure (an ``IncidentDetail`` in, a ``Report`` out). The charts are described as
``ChartSpec`` s (selector, window); ``report_charts`` reads and draws them, ``report_export`` writes
Markdown and CSV.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.incidents.priority import level
from core.incidents.report_charts import ChartSpec, chart_specs
from core.kernel.records.incidents import ActionItem, Event, Impact, Incident, IncidentDetail, MemberAlert
from core.kernel.settings.incidents import IncidentSettings


@dataclass(frozen=True)
class Report:
    incident: Incident
    level: str
    generated_ms: int
    impact_start_ms: int
    impact_end_ms: int
    ongoing: bool  # the impact window ends now: alerts are still firing
    alerts: tuple[MemberAlert, ...]
    timeline: tuple[Event, ...]
    actions: tuple[ActionItem, ...]
    charts: tuple[ChartSpec, ...]

    @property
    def impact(self) -> Impact:
        return self.incident.impact

    @property
    def time_to_acknowledge_s(self) -> float | None:
        i = self.incident
        return None if i.acked_ms is None else (i.acked_ms - i.opened_ms) / 1000

    @property
    def time_to_resolve_s(self) -> float | None:
        i = self.incident
        return None if i.resolved_ms is None else (i.resolved_ms - i.opened_ms) / 1000

    @property
    def impact_duration_s(self) -> float:
        return (self.impact_end_ms - self.impact_start_ms) / 1000


def impact_window(detail: IncidentDetail, now_ms: int) -> tuple[int, int, bool]:
    """(start, end, ongoing): from the first alert firing to the last one resolving (or now)."""
    inc, alerts = detail.incident, detail.alerts
    start = min([inc.opened_ms, *(a.first_ms for a in alerts)])
    if any(a.state == "firing" for a in alerts):
        return start, max(now_ms, start), True
    ends = [a.resolved_ms for a in alerts if a.resolved_ms is not None]
    if not ends and inc.resolved_ms is not None:
        ends.append(inc.resolved_ms)
    return start, max([start, *ends]), False


def build_report(
    detail: IncidentDetail,
    settings: IncidentSettings,
    now_ms: int,
    metrics: Mapping[str, str] | None = None,
) -> Report:
    """The report of one incident at ``now_ms``; ``metrics`` maps alertnames to their selectors
    (``core.alerts.rules.rule_metrics``) so the involved metrics can be charted."""
    start, end, ongoing = impact_window(detail, now_ms)
    pad = settings.report_padding_s * 1000
    specs = chart_specs(
        detail.alerts,
        metrics or {},
        start - pad,
        end + pad,
        leaf=settings.topology_leaf,
        parents=settings.topology_parents,
    )
    return Report(
        incident=detail.incident,
        level=level(detail.incident.priority, settings),
        generated_ms=now_ms,
        impact_start_ms=start,
        impact_end_ms=end,
        ongoing=ongoing,
        alerts=tuple(sorted(detail.alerts, key=lambda a: (a.first_ms, a.name, a.fingerprint))),
        timeline=tuple(sorted(detail.events, key=lambda e: (e.at_ms, e.id or 0))),
        actions=detail.actions,
        charts=tuple(specs),
    )
