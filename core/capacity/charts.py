"""Figures of the Capacity view: the baseline forecast and the scenario with their interval bands,
and the hour x weekday heatmap of load. Pure functions of the planner's frames (no browser)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import polars as pl

from core.capacity.history import WEEKDAYS
from core.charts import COLORWAY, HEIGHT, TEMPLATE
from core.kernel.units import Unit, axis_format, hover_format

PLANS = {"baseline": ("Baseline forecast", COLORWAY[0]), "scenario": ("Scenario", COLORWAY[1])}
HISTORY_COLOR, TARGET_COLOR, FULL_COLOR = "#79706E", "#E8A317", "#D64545"
GRID_LINE = "rgba(128, 128, 128, 0.6)"


def _band_color(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _x(df: pl.DataFrame) -> np.ndarray:
    return df["ts"].dt.replace_time_zone(None).to_numpy()


def projection(
    forecast: pl.DataFrame, history: pl.DataFrame, resource: str, title: str, target: float, level: int = 80
) -> go.Figure:
    """Utilization of ``resource``: the history, then the baseline and the scenario, each with its
    ``level`` % interval as a band; dotted lines at the target and at 100 %.

    Built from numpy arrays and plain layout shapes (``add_hline`` and lists of datetimes cost
    ~100 ms a figure): moving a what-if slider redraws two of these.
    """
    hover = f"%{{fullData.name}}: %{{y:{hover_format('ratio')}}}<extra></extra>"
    past = history.filter(pl.col("resource") == resource)
    traces = [
        go.Scatter(
            x=_x(past),
            y=past["utilization"].to_numpy(),
            name="History",
            mode="lines",
            line={"color": HISTORY_COLOR, "width": 1.2},
            hovertemplate=hover,
        )
    ]
    for plan, (name, color) in PLANS.items():
        part = forecast.filter((pl.col("resource") == resource) & (pl.col("plan") == plan))
        x = _x(part)
        band_y = np.concatenate(
            [part["utilization_upper"].to_numpy(), part["utilization_lower"].to_numpy()[::-1]]
        )
        traces.append(
            go.Scatter(
                x=np.concatenate([x, x[::-1]]),
                y=band_y,
                fill="toself",
                fillcolor=_band_color(color, 0.18),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                name=f"{name}, {level} % interval",
                legendgroup=plan,
            )
        )
        traces.append(
            go.Scatter(
                x=x,
                y=part["utilization_mean"].to_numpy(),
                name=name,
                mode="lines",
                legendgroup=plan,
                line={"color": color, "width": 2, "dash": "solid" if plan == "scenario" else "dash"},
                hovertemplate=hover,
            )
        )
    # the bands behind every line; the baseline's dashes last, so they show over a scenario that
    # equals it (no what-if change yet) instead of being hidden under its solid line
    bands = [t for t in traces if t.fill == "toself"]
    lines = sorted((t for t in traces if t.fill != "toself"), key=lambda t: t.name == PLANS["baseline"][0])
    traces = bands + lines
    shapes: list[dict[str, object]] = []
    notes: list[dict[str, object]] = []
    for y, label, color in ((target, "target", TARGET_COLOR), (1.0, "full", FULL_COLOR)):
        line = {"dash": "dot", "color": color, "width": 1}
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y, "line": line})
        notes.append(
            {
                "xref": "paper",
                "x": 1,
                "y": y,
                "text": f"{label} {y:.0%}",
                "showarrow": False,
                "yanchor": "bottom",
                "xanchor": "right",
                "font": {"color": color, "size": 11},
            }
        )
    if past.height:
        now = _x(past)[-1]
        shapes.append(
            {
                "type": "line",
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "x0": now,
                "x1": now,
                "line": {"color": GRID_LINE, "width": 1},
            }
        )
    fig = go.Figure(data=traces)
    fig.update_layout(
        template=TEMPLATE,
        title={"text": title},
        height=HEIGHT + 60,
        shapes=shapes,
        annotations=notes,
        yaxis={**axis_format("ratio"), "rangemode": "tozero"},
        xaxis={"tickformat": "%b %d", "hoverformat": "%Y-%m-%d %H:%M UTC"},
    )
    return fig


def week_heatmap(df: pl.DataFrame, title: str, unit: Unit = "ratio") -> go.Figure:
    """Weekday rows x hour-of-day columns (UTC), coloured by the mean value."""
    fig = go.Figure()
    if df.height:
        grid = [[None] * 24 for _ in WEEKDAYS]
        for day, hour, value in df.select("weekday", "hour", "value").iter_rows():
            grid[int(day)][int(hour)] = value
        fmt = hover_format(unit)
        fig.add_trace(
            go.Heatmap(
                x=[f"{h:02d}" for h in range(24)],
                y=list(WEEKDAYS),
                z=grid,
                colorscale="YlOrRd",
                xgap=1,
                ygap=2,
                colorbar={"thickness": 10, "tickformat": axis_format(unit).get("tickformat", "")},
                hovertemplate=f"%{{y}} %{{x}}:00 UTC<br>%{{z:{fmt}}}<extra></extra>",
            )
        )
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=300, hovermode="closest")
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False, title={"text": "hour of day (UTC)"})
    return fig


def add_bands(fig: go.Figure, bands: pl.DataFrame, by: str = "host") -> go.Figure:
    """The robust baseline's band of each series (light grey, behind the lines) and its anomalous
    points (red crosses) added to a line chart."""
    if bands.is_empty():
        return fig
    traces = []
    for (name,), part in bands.sort("ts").group_by(by, maintain_order=True):
        x = _x(part)
        traces.append(
            go.Scatter(
                x=np.concatenate([x, x[::-1]]),
                y=np.concatenate([part["upper"].to_numpy(), part["lower"].to_numpy()[::-1]]),
                fill="toself",
                fillcolor="rgba(128, 128, 128, 0.12)",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                name=f"{name} normal band",
            )
        )
    odd = bands.filter(pl.col("anomalous"))
    if odd.height:
        traces.append(
            go.Scatter(
                x=_x(odd),
                y=odd["value"].to_numpy(),
                mode="markers",
                marker={"symbol": "x", "color": FULL_COLOR, "size": 8},
                name="anomaly",
                text=odd[by].to_list(),
                hovertemplate="%{text}: anomalous (score %{customdata:.1f})<extra></extra>",
                customdata=odd["score"].to_numpy(),
            )
        )
    n_old, n_bands = len(fig.data), bands[by].n_unique()
    fig.add_traces(traces)
    data = fig.data  # the bands behind the lines, the crosses on top
    fig.data = data[n_old : n_old + n_bands] + data[:n_old] + data[n_old + n_bands :]
    return fig
