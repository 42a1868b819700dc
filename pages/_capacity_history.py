"""The Capacity page's historical analytics: trends, the hour x weekday heatmap, teams, top movers.

Not a page. The history (8 weeks, hourly) is read once per hour through the user's scoped reader.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.capacity import charts as cap_charts
from core.capacity import history as hist
from core.kernel.times import TimeRange
from pages import _common as ui
from pages import _render as render

DAYS = 56
NUM = st.column_config.NumberColumn
CHANGE: dict[str, Any] = {
    "this_week": NUM("This week", format="%.3g"),
    "last_week": NUM("Week before", format="%.3g"),
    "wow_pct": NUM("Week over week", format="%+.1f %%"),
    "this_month": NUM("Last 28 days", format="%.3g"),
    "last_month": NUM("28 days before", format="%.3g"),
    "mom_pct": NUM("Month over month", format="%+.1f %%"),
}
MOVERS: dict[str, Any] = {
    "this_week": NUM("Cores this week", format="%.3f"),
    "last_week": NUM("Cores week before", format="%.3f"),
    "change": NUM("Change (cores)", format="%+.3f"),
    "change_pct": NUM("Change", format="%+.1f %%"),
}


def section(end_ms: int) -> None:
    st.subheader("History")
    a = ui.query(hist.analytics, end_ms, DAYS)
    tr = TimeRange("capacity-history", end_ms - DAYS * 86_400_000, end_ms, 3_600_000)
    trends, heat, growth, movers = st.tabs(["Trends", "Load by hour", "Growth per team", "Top movers"])
    with trends:
        render.table(
            a.trends,
            a.trends,
            "capacity-trends",
            tr,
            {"aggregate": "Aggregate", "what": "What", "unit": "Unit", **CHANGE},
        )
        st.caption("Means of each span; a month is 28 days so that weekdays balance.")
    with heat:
        fig = cap_charts.week_heatmap(a.heatmap, "Mean host CPU utilization by hour of the week (UTC)")
        render.chart(fig, a.heatmap, "capacity-heatmap", tr)
    with growth:
        render.table(
            a.team_growth,
            a.team_growth,
            "capacity-team-growth",
            tr,
            {
                "team": "Team",
                "metric": "Metric",
                **CHANGE,
                "growth_pct": NUM("Growth over 8 weeks", format="%+.1f %%", help=a.growth_basis),
            },
        )
        st.caption(f"Growth over the history: {a.growth_basis}.")
    with movers:
        render.table(
            a.top_movers,
            a.top_movers,
            "capacity-top-movers",
            tr,
            {"server": "Server", "team": "Team", **MOVERS},
        )
        st.caption("Servers whose mean CPU use changed most between the last week and the week before.")
