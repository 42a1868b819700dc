"""Plotly figures of the dashboards, in one shared theme; pure functions, testable without a browser.

Every builder takes a tidy polars frame (``ts`` plus a value and a grouping column) and returns a
``go.Figure``, made in one go from its traces and layout as plain dicts (:func:`_figure`): plotly
validates each trace once, where ``add_trace`` validated it, copied it and validated the copy, and
``update_layout(template=...)`` validated and copied the whole template again for every figure;
that was 2/3 of a line chart's cost (14 -> 5 ms for five series), and a dashboard page draws
several. Axes and hover labels format values from their base unit (ratios as %, seconds,
bytes). Many groups are cut to the ``max_series`` largest; for additive values the rest is summed
into one "other" trace, so a stacked total stays true.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from core.kernel.units import HOVER_SUFFIX, Unit, axis_format, hover_format

TEMPLATE = "pulse"
COLORWAY = [
    "#4C78A8",
    "#F58518",
    "#54A24B",
    "#B279A2",
    "#72B7B2",
    "#EECA3B",
    "#9D755D",
    "#FF9DA6",
    "#79706E",
    "#E45756",
]
STATUS_COLORS = {
    "ok": "#2E9D5B",
    "warning": "#E8A317",
    "critical": "#D64545",
    "up": "#2E9D5B",
    "down": "#D64545",
}
QUANTILE_COLORS = {"p50": "#4C78A8", "p95": "#F58518", "p99": "#E45756"}
OTHER = "other"
GRID = "rgba(128, 128, 128, 0.18)"
HEIGHT = 300


def _register() -> None:
    axis = {
        "gridcolor": GRID,
        "zeroline": False,
        "linecolor": GRID,
        "ticks": "",
        "automargin": True,
        "ticklabelstandoff": 6,
    }
    pio.templates[TEMPLATE] = go.layout.Template(
        layout={
            "font": {"family": "Source Sans Pro, Inter, system-ui, sans-serif", "size": 12},
            "colorway": COLORWAY,
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "margin": {"l": 8, "r": 8, "t": 40, "b": 8},
            "title": {"x": 0, "xanchor": "left", "font": {"size": 14}},
            "xaxis": axis,
            "yaxis": axis,
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0, "title": {"text": ""}},
            "hovermode": "x unified",
            "hoverlabel": {"namelength": -1},
        }
    )


_register()


def _figure(
    traces: list[dict[str, Any]],
    title: str,
    unit: Unit,
    height: int = HEIGHT,
    xaxis: dict[str, Any] | None = None,
    yaxis: dict[str, Any] | None = None,
    **layout: Any,
) -> go.Figure:
    """The figure of ``traces`` (dicts with their ``type``) in the Pulse template: the y axis
    formatted for ``unit`` then set by ``yaxis``, the x axis by ``xaxis``, other ``layout`` keys."""
    return go.Figure(
        data=traces,
        layout={
            "template": pio.templates[TEMPLATE],  # the registered, validated object: not checked again
            "title": {"text": title},
            "height": height,
            "xaxis": xaxis or {},
            "yaxis": {**axis_format(unit), **(yaxis or {})},
            **layout,
        },
    )


def _time_axis(df: pl.DataFrame) -> dict[str, str]:
    """One line of tick labels (seconds within 15 minutes, hours within two days, else dates),
    full time in the hover header: the x axis settings of a time chart ({} without times)."""
    if df.is_empty() or "ts" not in df.columns:
        return {}
    bounds = df.select(pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi")).row(0)
    span = None if None in bounds else bounds[1] - bounds[0]
    if span is not None and span < timedelta(minutes=15):
        tickformat = "%H:%M:%S"  # minutes only would label every tick of a young series alike
    else:
        tickformat = "%H:%M" if span is None or span <= timedelta(days=2) else "%b %d"
    return {"tickformat": tickformat, "hoverformat": "%Y-%m-%d %H:%M:%S UTC"}


def _hover(unit: Unit, name: str = "%{fullData.name}") -> str:
    return f"{name}: %{{y:{hover_format(unit)}}}{HOVER_SUFFIX.get(unit, '')}<extra></extra>"


def limit_groups(
    df: pl.DataFrame, by: str, max_series: int, other: Literal["sum", "drop"] = "drop", value: str = "value"
) -> pl.DataFrame:
    """Keep the ``max_series`` groups with the largest mean; the rest summed as ``other`` or dropped."""
    if df.is_empty() or df[by].n_unique() <= max_series:
        return df
    ranked = (
        df.group_by(by)
        .agg(pl.col(value).mean().alias("_m"))
        .sort(["_m", by], descending=[True, False], nulls_last=True)
    )
    keep = ranked[by].head(max_series).implode()
    top = df.filter(pl.col(by).is_in(keep))
    if other == "drop":
        return top
    rest = (
        df.filter(~pl.col(by).is_in(keep))
        .group_by("ts")
        .agg(pl.col(value).sum())
        .with_columns(pl.lit(OTHER).alias(by))
    )
    return pl.concat([top, rest.select(top.columns)], how="vertical_relaxed")


def _groups(df: pl.DataFrame, by: str) -> list[Any]:
    """Groups in a stable order: by name, with "other" last."""
    names = sorted(df[by].unique().to_list(), key=lambda v: (v == OTHER, str(v)))
    return names


def line(
    df: pl.DataFrame,
    title: str,
    unit: Unit,
    color: str | None = "host",
    y: str = "value",
    stacked: bool = False,
    max_series: int = 10,
    other: Literal["sum", "drop"] = "drop",
    colors: dict[str, str] | None = None,
    height: int = HEIGHT,
) -> go.Figure:
    """Time series, one trace per ``color`` group (stacked areas when ``stacked``)."""
    traces: list[dict[str, Any]] = []
    if not df.is_empty():
        data = limit_groups(df, color, max_series, other, y) if color else df
        groups = _groups(data, color) if color else [None]
        data = data.sort("ts")  # stable: each group's rows in time order, as sorted one by one
        by_group = {k[0]: p for k, p in data.partition_by(color, as_dict=True).items()} if color else {}
        for i, g in enumerate(groups):
            part = by_group[g] if color else data
            name = str(g) if g is not None else title
            trace_color = (colors or {}).get(name) or (
                COLORWAY[i % len(COLORWAY)] if name != OTHER else "#BAB0AC"
            )
            trace = {
                "type": "scatter",
                "x": part["ts"].to_list(),
                "y": part[y].to_list(),
                "name": name,
                "mode": "lines",
                "line": {"width": 1.6, "color": trace_color},
                "hovertemplate": _hover(unit),
            }
            traces.append({**trace, "stackgroup": "one"} if stacked else trace)
    return _figure(traces, title, unit, height, xaxis=_time_axis(df))


def heatmap(
    df: pl.DataFrame,
    title: str,
    unit: Unit = "ratio",
    y: str = "host",
    zmax: float | None = 1.0,
    height: int | None = None,
) -> go.Figure:
    """Rows ``y`` x time cells coloured by value (utilisation: 0..100 %, yellow to red)."""
    traces: list[dict[str, Any]] = []
    rows: list[str] = []
    if not df.is_empty():
        wide = df.pivot(on=y, index="ts", values="value").sort("ts")
        rows = sorted(c for c in wide.columns if c != "ts")
        fmt = hover_format(unit)
        traces.append(
            {
                "type": "heatmap",
                "x": wide["ts"].to_list(),
                "y": rows,
                "z": [wide[r].to_list() for r in rows],
                "zmin": 0,
                "zmax": zmax,
                "colorscale": "YlOrRd",
                "xgap": 1,
                "ygap": 2,
                "colorbar": {"thickness": 10, "tickformat": axis_format(unit).get("tickformat", "")},
                "hovertemplate": f"%{{y}}<br>%{{x}}<br>%{{z:{fmt}}}{HOVER_SUFFIX.get(unit, '')}<extra></extra>",
            }
        )
    return _figure(
        traces,
        title,
        "count",
        height or max(220, 60 + 28 * len(rows)),
        xaxis={"showgrid": False, **_time_axis(df)},
        yaxis={"tickformat": "", "rangemode": "normal", "autorange": "reversed", "showgrid": False},
        hovermode="closest",
    )


def bars(
    df: pl.DataFrame,
    x: str,
    label: str,
    title: str,
    unit: Unit,
    color: str = COLORWAY[0],
    height: int | None = None,
) -> go.Figure:
    """Horizontal bars, first row on top (for top-N tables)."""
    traces: list[dict[str, Any]] = []
    if not df.is_empty():
        traces.append(
            {
                "type": "bar",
                "x": df[x].to_list(),
                "y": df[label].to_list(),
                "orientation": "h",
                "marker": {"color": color},
                "hovertemplate": f"%{{y}}: %{{x:{hover_format(unit)}}}{HOVER_SUFFIX.get(unit, '')}<extra></extra>",
            }
        )
    return _figure(
        traces,
        title,
        "count",
        height or max(200, 60 + 26 * df.height),
        xaxis=axis_format(unit),
        yaxis={"autorange": "reversed", "tickformat": "", "rangemode": "normal", "showgrid": False},
        hovermode="closest",
    )


def box(
    df: pl.DataFrame,
    title: str,
    unit: Unit,
    group: str = "group",
    value: str = "value",
    max_groups: int = 15,
    height: int = HEIGHT,
) -> go.Figure:
    """Distribution per group (box with whiskers and outliers), groups ordered by median, worst first."""
    traces: list[dict[str, Any]] = []
    if not df.is_empty():
        order = (
            df.group_by(group)
            .agg(pl.col(value).median().alias("_m"))
            .sort(["_m", group], descending=[True, False])
        )
        for i, g in enumerate(order[group].head(max_groups).to_list()):
            vals = df.filter(pl.col(group) == g)[value].to_list()
            traces.append(
                {
                    "type": "box",
                    "y": vals,
                    "name": str(g),
                    "marker": {"color": COLORWAY[i % len(COLORWAY)], "size": 3},
                    "boxpoints": "outliers",
                    "hovertemplate": _hover(unit, str(g)),
                }
            )
    return _figure(traces, title, unit, height, showlegend=False, hovermode="closest")


def quantiles(df: pl.DataFrame, title: str, group: str = "quantile", height: int = HEIGHT) -> go.Figure:
    """Latency p50/p95/p99 lines in fixed colours (blue, orange, red)."""
    return line(df, title, "seconds", color=group, colors=QUANTILE_COLORS, height=height)


def servers_up(df: pl.DataFrame, title: str = "MCP servers up / down", height: int = HEIGHT) -> go.Figure:
    """Stacked up (green) and down (red) server counts over time."""
    fig = line(
        df, title, "count", color="state", y="servers", stacked=True, colors=STATUS_COLORS, height=height
    )
    fig.update_yaxes(tickformat=",d")
    return fig


def spec(fig: go.Figure) -> dict[str, Any]:
    """The JSON dict of a figure, as the browser receives it (for tests)."""
    out: dict[str, Any] = fig.to_plotly_json()
    return out


def trace_names(fig: go.Figure) -> Sequence[str]:
    return [t.name for t in fig.data]
