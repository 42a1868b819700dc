"""Anomaly bands for the dashboards' charts: the robust seasonal baseline of each plotted series.

:func:`host_bands` reads a week of history before the shown range (the baseline needs days, the
chart may show an hour) at the detector's step, runs :class:`RobustSeasonalDetector` on each
host's series and returns the bands inside the shown range; a series with too little history
gives no rows (no band is better than a made-up one).
"""

from __future__ import annotations

import polars as pl

from core.capacity.anomaly import RobustSeasonalDetector
from core.capacity.series import regular
from core.capacity.settings import AnomalySettings
from core.kernel.times import TimeRange
from core.views import Filters, Reader, hosts_in_scope, selector

DAY_MS = 86_400_000
SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Datetime("ms", "UTC"),
    "host": pl.Utf8(),
    "baseline": pl.Float64(),
    "lower": pl.Float64(),
    "upper": pl.Float64(),
    "score": pl.Float64(),
    "anomalous": pl.Boolean(),
    "value": pl.Float64(),
}


def host_bands(
    reader: Reader, tr: TimeRange, filters: Filters, metric: str, history_days: int = 7
) -> pl.DataFrame:
    """ts, host, baseline, lower, upper, score, anomalous, value of each host's ``metric`` within ``tr``."""
    settings = AnomalySettings()
    step = settings.step_s * 1000
    hosts = hosts_in_scope(reader, filters)
    if hosts == ():
        return pl.DataFrame(schema=SCHEMA)
    end = -(-tr.end_ms // step) * step
    sel = selector(metric, Filters(hosts=hosts or ()), ("host",))
    df = reader.select(sel, end - history_days * DAY_MS, end, step_ms=step, across="max", by=("host",))
    if df.is_empty() or "host" not in df.columns:
        return pl.DataFrame(schema=SCHEMA)
    detector, parts = RobustSeasonalDetector(settings), []
    for (host,), part in df.group_by("host", maintain_order=True):
        found = detector.detect(regular(part, step, key=str(host)))
        if not found.defined:
            continue
        bands = found.bands.filter(pl.col("ts").dt.epoch("ms") >= tr.start_ms - step)
        parts.append(
            bands.with_columns(
                host=pl.lit(str(host)), anomalous=pl.col("score").abs() > settings.threshold
            ).select(list(SCHEMA))
        )
    return pl.concat(parts) if parts else pl.DataFrame(schema=SCHEMA)
