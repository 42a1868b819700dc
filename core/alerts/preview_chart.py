"""The preview's figure: the values a rule compares, its threshold as a line (a PromQL rule: its
expr's values, the expr being its own condition), the firing spans shaded (times in UTC), in the dashboards' theme (``core.charts``). Label values are escaped in
the legend: plotly reads a subset of HTML (links included) in trace names."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import plotly.graph_objects as go
import polars as pl

from core.alerts.preview import Preview
from core.alerts.rules import Rule
from core.charts import TEMPLATE

FIRING = "rgba(214, 69, 69, 0.18)"


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def preview_figure(p: Preview, rule: Rule, height: int = 320) -> go.Figure:
    fig = go.Figure()
    for (name,), part in p.values.sort("time").group_by(["series"], maintain_order=True):
        fig.add_trace(
            go.Scatter(
                x=[_utc(t) for t in part["time"]],
                y=part["value"].to_list(),
                name=html.escape(str(name), quote=False),
                mode="lines",
            )
        )
    if rule.condition != "absent" and rule.promql is None:
        fig.add_hline(
            y=rule.threshold,
            line_dash="dash",
            line_color="#D64545",
            annotation_text=f"{rule.op} {rule.threshold:g}",
        )
    for begin, end, _ in p.spans:
        fig.add_vrect(
            x0=_utc(begin), x1=_utc(max(end, begin + 1000)), fillcolor=FIRING, line_width=0, layer="below"
        )
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title=f"{rule.alert}: would have fired {p.fired} time{'s' if p.fired != 1 else ''}",
        xaxis={"range": [_utc(p.start_ms), _utc(p.end_ms)]},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        showlegend=p.values.n_unique("series") > 1 if not p.values.is_empty() else False,
    )
    return fig


def values_frame(p: Preview) -> pl.DataFrame:
    """The firing spans as a table (UTC times, minutes, the label set)."""
    return pl.DataFrame(
        [(_utc(b), _utc(e), round((e - b) / 60_000, 1), text) for b, e, text in p.spans],
        schema={
            "from": pl.Datetime("us", "UTC"),
            "to": pl.Datetime("us", "UTC"),
            "minutes": pl.Float64,
            "series": pl.Utf8,
        },
        orient="row",
    )
