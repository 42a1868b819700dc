"""The Usage trend chart, without a browser."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from core.charts import spec
from core.usage.figures import DAY_MS, trend_choices, trend_figure

TS = [datetime(2026, 12, d, tzinfo=UTC) for d in (1, 1, 2, 2)]


def trend(users: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": TS,
            "team": ["a", "b", "a", "b"],
            "active_users": users,
            "debug_sessions": users,
            "tool_calls": [1e5, 2e5, 3e5, 4e5],
            "cpu_core_hours": [1.0, 2.0, 3.0, 4.0],
            "memory_gib_hours": [1.0, 2.0, 3.0, 4.0],
            "cost": [0.5, 1.0, 1.5, 2.0],
        },
        schema_overrides={"active_users": pl.Float64, "debug_sessions": pl.Float64},
    )


def test_one_stacked_area_per_team_readable_ticks() -> None:
    fig = spec(trend_figure(trend([1, 2, 3, 4]), "Tool calls", DAY_MS))
    assert [t["name"] for t in fig["data"]] == ["a", "b"]
    assert all(t["stackgroup"] == "one" for t in fig["data"])
    assert fig["data"][1]["y"] == [2e5, 4e5]
    assert fig["layout"]["yaxis"]["tickformat"] == ",.3~s"  # 400k
    assert fig["layout"]["xaxis"]["dtick"] == DAY_MS
    small = spec(trend_figure(trend([1, 2, 3, 4]), "Cost", 3_600_000))
    assert small["layout"]["yaxis"]["tickformat"] == ",.4~g" and "dtick" not in small["layout"]["xaxis"]


def test_choices_leave_out_what_has_no_data() -> None:
    assert "Active users (peak)" in trend_choices(trend([1, 2, 3, 4]))
    assert trend_choices(trend([None] * 4)) == ["Tool calls", "Cost", "CPU core-hours", "Memory GiB-hours"]


def test_the_tick_format_follows_the_stacks_top_not_one_teams_values() -> None:
    df = trend([1, 2, 3, 4]).with_columns(pl.Series("tool_calls", [6e3, 6e3, 7e3, 7e3]))
    fig = spec(trend_figure(df, "Tool calls", 3_600_000))
    assert fig["layout"]["yaxis"]["tickformat"] == ",.3~s"  # 14k on top: not "1.4e+4"
