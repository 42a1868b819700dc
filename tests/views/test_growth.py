"""core.views.growth: the change of the daily mean between a range's first and last period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl
import pytest

from core.views.growth import DAY_MS, WEEK_MS, growth, growth_basis

HOUR_MS = 3_600_000
START = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp() * 1000)  # a Monday


def hourly(team: str, days: int, per_hour: Callable[[int], float]) -> pl.DataFrame:
    ts = list(range(START, START + days * DAY_MS, HOUR_MS))
    return pl.DataFrame(
        {"ts": ts, "team": [team] * len(ts), "value": [per_hour(t) for t in ts]},
        schema={"ts": pl.Int64, "team": pl.Utf8, "value": pl.Float64},
    ).with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))


def test_basis_is_weeks_then_days_then_none() -> None:
    assert growth_basis(START, START + 14 * DAY_MS, "x").period_ms == WEEK_MS
    assert growth_basis(START, START + 13 * DAY_MS, "x").period_ms == DAY_MS
    assert growth_basis(START, START + 2 * DAY_MS, "x").period_ms == DAY_MS
    short = growth_basis(START, START + 47 * HOUR_MS, "tool calls")
    assert short.period_ms is None and "shorter than 2 days" in short.text
    assert "last 7 days against its first 7 days" in growth_basis(START, START + 28 * DAY_MS, "x").text


def test_weekly_seasonality_does_not_read_as_growth() -> None:
    """Weekends at a tenth of weekdays, flat otherwise: 0 % over 4 weeks, whatever halves would say.

    Over 3 weeks from a Monday the first half (10.5 days) holds one weekend and the second half two:
    sums of halves report a change; the weekly basis does not."""
    weekday = lambda t: 1.0 if datetime.fromtimestamp(t / 1000, UTC).weekday() < 5 else 0.1  # noqa: E731
    df = hourly("a", 21, weekday)
    end = START + 21 * DAY_MS
    out, basis = growth(df, START, end, ["team"], "value", "count")
    assert basis.period_ms == WEEK_MS
    assert out["growth_pct"][0] == pytest.approx(0.0, abs=1e-9)
    assert out["first_daily"][0] == pytest.approx((5 * 24 + 2 * 24 * 0.1) / 7)
    mid = START + (end - START) // 2
    halves = df.group_by(pl.col("ts").dt.epoch("ms") >= mid).agg(pl.col("value").sum())
    assert halves["value"].n_unique() == 2  # the crude figure would have reported growth


def test_linear_growth_counts_and_levels() -> None:
    """A count growing from 1 to 2 a hour over 4 weeks: first week's daily mean vs last week's."""
    span = 28 * DAY_MS
    rising = lambda t: 1.0 + (t - START) / span  # noqa: E731
    df = pl.concat([hourly("a", 28, rising), hourly("b", 28, lambda t: 3.0)])
    out, _ = growth(df, START, START + span, ["team"], "value", "count")
    got = dict(out.select("team", "growth_pct").iter_rows())
    first, last = 1 + 3.5 / 28, 1 + 24.5 / 28  # mean of the first and the last week's hourly values
    assert got["a"] == pytest.approx((last / first - 1) * 100, rel=1e-3)
    assert got["b"] == pytest.approx(0.0)
    level, _ = growth(df, START, START + span, ["team"], "value", "level")
    assert level.filter(pl.col("team") == "a")["first_daily"][0] == pytest.approx(first, rel=1e-3)
    assert out.filter(pl.col("team") == "b")["first_daily"][0] == pytest.approx(72.0)  # 3 an hour, 24 h


def test_a_team_that_starts_in_the_range_has_no_rate_and_short_ranges_none() -> None:
    late = hourly("new", 14, lambda t: 1.0 if t >= START + 8 * DAY_MS else 0.0)
    out, _ = growth(late, START, START + 14 * DAY_MS, ["team"], "value", "count")
    assert out["growth_pct"][0] is None and out["last_daily"][0] == pytest.approx(6 * 24 / 7)
    short, basis = growth(hourly("a", 1, lambda t: 1.0), START, START + DAY_MS, ["team"], "value", "count")
    assert basis.period_ms is None and short["team"].to_list() == ["a"] and short["growth_pct"][0] is None
