"""The Usage view's trend chart: one stacked area per team (the top line is the total)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from core import charts

DAY_MS = 86_400_000
TREND = {  # label -> column of UsageReport.trend
    "Tool calls": "tool_calls",
    "Cost": "cost",
    "CPU core-hours": "cpu_core_hours",
    "Memory GiB-hours": "memory_gib_hours",
    "Active users (peak)": "active_users",
}


def trend_choices(trend: pl.DataFrame) -> list[str]:
    """The trend labels with data (a developer's own series have no team gauges)."""
    return [label for label, c in TREND.items() if trend[c].null_count() < trend.height]


def trend_figure(trend: pl.DataFrame, label: str, step_ms: int) -> go.Figure:
    column = TREND[label]
    fig = charts.line(trend.fill_null(0), f"{label} per team", "count", color="team", y=column, stacked=True)
    stacked = trend.group_by("ts").agg(pl.col(column).sum())[column].max() if trend.height else 0
    big = (stacked or 0) >= 10_000  # type: ignore[operator]  # the stack's top, not one team's
    fig.update_yaxes(tickformat=",.3~s" if big else ",.4~g")  # 800k, not 8e+5
    if step_ms == DAY_MS:
        fig.update_xaxes(dtick=DAY_MS, tickformat="%b %d")  # one tick a day, each day once
    return fig
