"""Growth over a range: the relative change of the daily mean between its first and last period.

Comparing sums of two halves (what the views did first) mixes weekdays with weekends and lets one
busy day decide. Here the period is a whole week when the range holds two (so both periods have
every weekday once), else a whole day when it holds two days; a shorter range has no growth figure
(a few hours against a few others measure the time of day, not growth). The daily mean of a count
(tool calls) is its total over the period divided by the period's days; of a level (active users,
cores used) the mean of its values in the period. The change is ``None`` when the first period has
no data or a mean of zero: a team that starts in the range has no growth rate, not an infinite one.
Every figure comes with its basis in words, for the column's help and the CSV's reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
Kind = Literal["count", "level"]


@dataclass(frozen=True)
class GrowthBasis:
    """The period compared (None: the range is too short for a growth figure) and how, in words."""

    period_ms: int | None
    text: str


def growth_basis(start_ms: int, end_ms: int, what: str) -> GrowthBasis:
    """Which periods of ``[start_ms, end_ms)`` are compared, and the sentence that says so."""
    span = end_ms - start_ms
    for period, name in ((WEEK_MS, "7 days"), (DAY_MS, "day")):
        if span >= 2 * period:
            return GrowthBasis(
                period,
                f"change of the daily mean of {what}: the range's last {name} against its first {name}",
            )
    return GrowthBasis(None, f"no growth of {what}: the range is shorter than 2 days (needs 2 whole days)")


def growth(
    df: pl.DataFrame, start_ms: int, end_ms: int, by: list[str], value: str, kind: Kind
) -> tuple[pl.DataFrame, GrowthBasis]:
    """``by``, first_daily, last_daily, growth_pct per group of ``df`` (ts, ``by``, ``value``)."""
    basis = growth_basis(start_ms, end_ms, value.replace("_", " "))
    schema = {
        **{b: df.schema[b] for b in by},
        **dict.fromkeys(("first_daily", "last_daily", "growth_pct"), pl.Float64()),
    }
    if basis.period_ms is None or df.is_empty():
        return df.select(by).unique(maintain_order=True).with_columns(
            pl.lit(None, pl.Float64).alias(c) for c in list(schema)[len(by) :]
        ).cast(pl.Schema(schema)), basis
    period = basis.period_ms
    ms = pl.col("ts").dt.epoch("ms")
    days = period / DAY_MS

    def daily(lo: int, hi: int, name: str) -> pl.Expr:
        part = pl.col(value).filter((ms >= lo) & (ms < hi))
        if kind == "count":
            return (part.sum() / days).alias(name)
        return part.mean().alias(name)

    out = df.group_by(by, maintain_order=True).agg(
        daily(start_ms, start_ms + period, "first_daily"), daily(end_ms - period, end_ms, "last_daily")
    )
    pct = pl.when(pl.col("first_daily").abs() > 0).then(
        (pl.col("last_daily") / pl.col("first_daily") - 1) * 100
    )
    return out.with_columns(pct.alias("growth_pct")).cast(pl.Schema(schema)), basis
