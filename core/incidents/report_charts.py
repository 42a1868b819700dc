"""The charts of a post-incident report: which metric selectors to draw over which window, and the
figures themselves (``core.charts.line`` with the impact window shaded).

An alert's metric comes from its rule (``alertname -> selector``); the chart narrows it to the
alert's host (or server) and splits lines by server when the alert is a server's, so the six
``McpServerDown`` alerts of one host give one chart of ``mcp_server_up{host="host-04"}`` by server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

from core.kernel.errors import PulseError
from core.kernel.records.incidents import MemberAlert
from core.kernel.selector import Matcher, Selector, parse_selector
from core.kernel.times import pick_step
from core.kernel.units import Unit

if TYPE_CHECKING:
    import plotly.graph_objects as go

WINDOW_FILL = "rgba(214, 69, 69, 0.10)"


class Reader(Protocol):
    def select(self, selector: str | Selector, start_ms: int, end_ms: int, **kw: Any) -> pl.DataFrame: ...


@dataclass(frozen=True)
class ChartSpec:
    title: str
    selector: Selector
    start_ms: int
    end_ms: int
    by: str  # the label that splits the lines
    unit: Unit
    over_time: str = "avg"
    alerts: tuple[str, ...] = ()  # alertnames it illustrates


@dataclass(frozen=True)
class ChartData:
    spec: ChartSpec
    frame: pl.DataFrame  # ts, <by>, value
    error: str | None = None


def unit_of(metric: str) -> tuple[Unit, str]:
    """The unit of a metric from its Prometheus suffix, and how to aggregate it over a step."""
    if metric.endswith("_total"):
        return "per_s", "rate"
    for suffix, unit in (("_ratio", "ratio"), ("_seconds", "seconds"), ("_bytes", "bytes")):
        if metric.endswith(suffix):
            return unit, "avg"  # type: ignore[return-value]
    return "count", "avg"


def chart_specs(
    alerts: Iterable[MemberAlert],
    metrics: Mapping[str, str],
    start_ms: int,
    end_ms: int,
    leaf: str = "server",
    parents: Sequence[str] = ("host",),
) -> list[ChartSpec]:
    """One chart per (metric, scope): in alert order, without duplicates; alerts of rules without a
    Pulse selector are skipped."""
    specs: dict[tuple[str, str], ChartSpec] = {}
    for a in sorted(alerts, key=lambda a: (a.first_ms, a.fingerprint)):
        text = metrics.get(a.name)
        if not text:
            continue
        try:
            base = parse_selector(text)
        except PulseError:
            continue
        scope = next((p for p in (*parents, leaf) if a.labels.get(p)), None)
        matchers = list(base.matchers)
        if scope and all(m.label != scope for m in matchers):
            matchers.append(Matcher(scope, "=", a.labels[scope]))
        sel = Selector(base.metric, tuple(matchers))
        by = leaf if a.labels.get(leaf) else (scope or leaf)
        key = (str(sel), by)
        if key in specs:
            old = specs[key]
            if a.name not in old.alerts:
                specs[key] = ChartSpec(**{**old.__dict__, "alerts": (*old.alerts, a.name)})
            continue
        unit, over = unit_of(base.metric)
        where = f" on {scope} {a.labels[scope]}" if scope else ""
        specs[key] = ChartSpec(f"{base.metric}{where}", sel, start_ms, end_ms, by, unit, over, (a.name,))
    return list(specs.values())


def chart_data(reader: Reader, spec: ChartSpec, points: int = 120) -> ChartData:
    """The chart's lines (ts, <by>, value); a failed query comes back empty with its reason."""
    schema = pl.Schema({"ts": pl.Datetime("ms", "UTC"), spec.by: pl.Utf8(), "value": pl.Float64()})
    try:
        df = reader.select(
            spec.selector,
            spec.start_ms,
            spec.end_ms,
            step_ms=pick_step(spec.end_ms - spec.start_ms, points),
            over_time=spec.over_time,
            across="max",
            by=(spec.by,),
        )
    except PulseError as exc:
        return ChartData(spec, pl.DataFrame(schema=schema), str(exc))
    if spec.by not in df.columns:
        df = df.with_columns(pl.lit(None, pl.Utf8).alias(spec.by))
    return ChartData(spec, df.select(schema.names()).cast(schema))


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def figure(data: ChartData, impact_start_ms: int, impact_end_ms: int) -> go.Figure:
    spec = data.spec
    from core.charts import line  # plotly: imported when drawn, not by every daemon start

    fig = line(data.frame, spec.title, spec.unit, color=spec.by)
    fig.add_vrect(
        x0=_dt(impact_start_ms), x1=_dt(impact_end_ms), fillcolor=WINDOW_FILL, line_width=0, layer="below"
    )
    fig.update_xaxes(range=[_dt(spec.start_ms), _dt(spec.end_ms)])
    return fig


def figures(
    reader: Reader, specs: Sequence[ChartSpec], impact_start_ms: int, impact_end_ms: int
) -> list[go.Figure]:
    """The report's charts, drawn from the store (``Store`` or a team-scoped reader)."""
    return [figure(chart_data(reader, s), impact_start_ms, impact_end_ms) for s in specs]
