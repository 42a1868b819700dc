"""Anomaly bands for the Performance view: p95 latency and error rate per server (or per tool).

Like :func:`core.capacity.bands.host_bands`: a week before the shown range is read at the
detector's step (the baseline needs days; the chart may show an hour), the view's own frames are
built from it (``core.views.performance``: the call-weighted p95, the error rate per second), the
robust seasonal detector runs on each group's series and the bands inside the shown range come
back. A group with too little history gets no band. The Reader handed in is the session's scoped
one (``console.read``), so a team lead's bands come from their teams' series only.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from core.capacity.anomaly import RobustSeasonalDetector
from core.capacity.series import regular
from core.capacity.settings import AnomalySettings
from core.kernel.times import TimeRange
from core.views import Filters, Reader
from core.views import performance as perf

DAY_MS = 86_400_000
Quantity = Literal["p95", "errors_per_s"]
QUANTITIES: tuple[Quantity, ...] = ("p95", "errors_per_s")
COLUMNS = ("ts", "baseline", "lower", "upper", "score", "anomalous", "value")


def _schema(by: str) -> dict[str, pl.DataType]:
    floats = dict.fromkeys(("baseline", "lower", "upper", "score"), pl.Float64())
    return {
        "ts": pl.Datetime("ms", "UTC"),
        by: pl.Utf8(),
        **floats,
        "anomalous": pl.Boolean(),
        "value": pl.Float64(),
    }


def performance_bands(
    reader: Reader,
    tr: TimeRange,
    filters: Filters,
    quantity: Quantity,
    by: Literal["server", "gen_ai_tool_name"] = "server",
    server: str | None = None,
    history_days: int = 7,
) -> pl.DataFrame:
    """ts, ``by``, baseline, lower, upper, score, anomalous, value of each group's ``quantity``
    within ``tr`` (``server``: one server's tools, the page's drill-down)."""
    if quantity not in QUANTITIES:
        raise ValueError(f"anomaly bands are drawn for {', '.join(QUANTITIES)}, not {quantity!r}")
    settings = AnomalySettings()
    step = settings.step_s * 1000
    end = -(-tr.end_ms // step) * step
    history = TimeRange(tr.preset, end - history_days * DAY_MS, end, step)
    buckets = perf.tool_buckets(reader, history, filters)
    if server is not None:
        buckets = buckets.filter(pl.col("server") == server)
    schema = _schema(by)
    if buckets.is_empty():
        return pl.DataFrame(schema=schema)
    frame = perf.series(buckets, history, (by,))
    detector, parts = RobustSeasonalDetector(settings), []
    for (name,), part in frame.group_by(by, maintain_order=True):
        found = detector.detect(regular(part.select("ts", pl.col(quantity).alias("value")), step, str(name)))
        if not found.defined:
            continue
        bands = found.bands.filter(pl.col("ts").dt.epoch("ms") >= tr.start_ms - step)
        parts.append(
            bands.with_columns(
                pl.lit(str(name)).alias(by), (pl.col("score").abs() > settings.threshold).alias("anomalous")
            ).select(list(schema))
        )
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)
