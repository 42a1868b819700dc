"""Latency and error regressions per server and tool, found by change-point detection and tied
to their cause.

For each (server, tool): p95 latency is taken in logs and de-seasonalised by subtracting its
median at the same hour of a weekday or weekend day; the residual goes through ``ruptures``
(kernel change-point detection, linear kernel, a penalty scaled by the noise, estimated from
the median absolute first difference). A change is a finding only when the level moves by at
least ``min_ratio`` and stays for ``min_duration_min``, so seasonality and noise give none. The
error ratio is searched the same way (no seasonality) with an absolute minimum increase.
Every finding names the nearest deploy or config change of its server, and carries the series,
its seasonal baseline and the marker for a chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import ruptures as rpt
from pydantic import BaseModel, ConfigDict, Field

from core.optimization.deploys import change_events, nearest
from core.timerange import CUSTOM, TimeRange
from core.views import Filters, Reader
from core.views.performance import tool_buckets

HOUR_MS = 3_600_000


class RegressionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: float = Field(14, ge=0.25, le=90, description="History searched (days)")
    step_s: int = Field(300, ge=60, le=3600, description="Bucket width of the searched series (s)")
    penalty: float = Field(
        8.0, gt=0, le=1000, description="Change-point penalty, times noise variance times log n"
    )
    min_ratio: float = Field(1.5, gt=1, le=100, description="Smallest latency level change reported (ratio)")
    min_error_increase: float = Field(
        0.05, gt=0, le=1, description="Smallest error-ratio increase reported (absolute)"
    )
    min_duration_min: float = Field(30, ge=5, le=10_080, description="Shortest regression reported (minutes)")
    cause_within_min: float = Field(30, ge=1, le=1440, description="How far a deploy or config change may be")


@dataclass(frozen=True)
class Regression:
    server: str
    tool: str
    metric: str  # "p95_latency" or "error_ratio"
    start_ms: int
    end_ms: int | None  # when the level came back, None if it has not
    before: float
    after: float
    ratio: float
    cause: str | None  # "deploy", "config" or None
    cause_ms: int | None
    cause_detail: str
    chart: pl.DataFrame = field(repr=False)  # ts, value, baseline; the marker is start_ms

    @property
    def offset_min(self) -> float | None:
        """Minutes from the cause to the detected change (negative: change first)."""
        return None if self.cause_ms is None else (self.start_ms - self.cause_ms) / 60_000


def seasonal_baseline(ts_ms: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Median of ``values`` at each (weekday or weekend, hour of day), aligned to ``values``."""
    day = (ts_ms // 86_400_000 + 3) % 7  # 0 = Monday; the epoch is a Thursday
    key = (day >= 5).astype(np.int64) * 24 + (ts_ms // HOUR_MS) % 24
    out = np.empty_like(values)
    for k in np.unique(key):
        sel = key == k
        out[sel] = np.median(values[sel])
    return out


def noise_sd(x: np.ndarray) -> float:
    d = np.diff(x)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2)) if d.size else 0.0


def change_points(x: np.ndarray, penalty: float, min_size: int) -> list[int]:
    """Indexes where a new segment starts (ruptures KernelCPD, linear kernel, penalised)."""
    n, sd = x.size, noise_sd(x)
    if n < 2 * min_size or sd <= 0:
        return []
    algo = rpt.KernelCPD(kernel="linear", min_size=min_size).fit(x.reshape(-1, 1))
    return [b for b in algo.predict(pen=penalty * sd * sd * np.log(n)) if b < n]


def _segments(x: np.ndarray, breaks: list[int]) -> list[tuple[int, int, float]]:
    edges = [0, *breaks, x.size]
    return [(a, b, float(np.median(x[a:b]))) for a, b in zip(edges, edges[1:], strict=False)]


def _findings(x: np.ndarray, s: RegressionSettings, log: bool) -> list[tuple[slice, slice, int | None]]:
    """(segment before, segment after, index of the recovery or None) of each significant rise."""
    min_size = max(2, int(s.min_duration_min * 60 / s.step_s))
    segs = _segments(x, change_points(x, s.penalty, min_size))
    out = []
    for i in range(1, len(segs)):
        (pa, pb, before), (a, b, after) = segs[i - 1], segs[i]
        rise = after - before
        big = rise >= np.log(s.min_ratio) if log else rise >= s.min_error_increase and after >= 2 * before
        if big:
            back = next((segs[j][0] for j in range(i + 1, len(segs)) if segs[j][2] - before < rise / 2), None)
            out.append((slice(pa, pb), slice(a, b), back))
    return out


def _series(b: pl.DataFrame, step_ms: int) -> dict[tuple[str, str], pl.DataFrame]:
    df = b.with_columns(pl.col("ts").dt.epoch("ms").alias("ts_ms")).sort(
        "server", "gen_ai_tool_name", "ts_ms"
    )
    return {(k[0], k[1]): g for k, g in df.group_by("server", "gen_ai_tool_name", maintain_order=True)}  # type: ignore[misc]


def _tie(
    events: pl.DataFrame, server: str, start_ms: int, s: RegressionSettings
) -> tuple[str | None, int | None, str]:
    ev = nearest(events, server, start_ms, int(s.cause_within_min * 60_000))
    return (
        (None, None, "no deploy or config change nearby")
        if ev is None
        else (ev["kind"], ev["ts_ms"], ev["detail"])
    )


def detect(
    buckets: pl.DataFrame, events: pl.DataFrame, settings: RegressionSettings | None = None
) -> list[Regression]:
    """Regressions in ``buckets`` (rows of ``tool_buckets``) tied to ``events`` (``change_events``)."""
    s = settings or RegressionSettings()
    found: list[Regression] = []
    for (server, tool), g in _series(buckets, s.step_s * 1000).items():
        lat = g.filter(pl.col("p95").is_not_null() & (pl.col("p95") > 0))
        err = g.filter(pl.col("calls") > 0).with_columns((pl.col("errors") / pl.col("calls")).alias("ratio"))
        for metric, frame, col, log in (
            ("p95_latency", lat, "p95", True),
            ("error_ratio", err, "ratio", False),
        ):
            if frame.height < 4:
                continue
            ts, raw = frame["ts_ms"].to_numpy(), frame[col].to_numpy().astype(np.float64)
            y = np.log(raw) if log else raw
            base = seasonal_baseline(ts, y) if log else np.full_like(y, float(np.median(y)))
            for seg0, seg1, back in _findings(y - base, s, log):
                start = int(ts[seg1.start])
                cause, cause_ms, detail = _tie(events, server, start, s)
                before, after = float(np.median(raw[seg0])), float(np.median(raw[seg1]))
                chart = pl.DataFrame({"ts_ms": ts, "value": raw, "baseline": np.exp(base) if log else base})
                found.append(
                    Regression(
                        server=server,
                        tool=tool,
                        metric=metric,
                        start_ms=start,
                        end_ms=None if back is None else int(ts[back]),
                        before=before,
                        after=after,
                        ratio=after / before if before > 0 else float("inf"),
                        cause=cause,
                        cause_ms=cause_ms,
                        cause_detail=detail,
                        chart=chart,
                    )
                )
    return sorted(found, key=lambda r: (r.start_ms, r.server, r.tool))


def find_regressions(
    reader: Reader, end_ms: int, settings: RegressionSettings | None = None, filters: Filters | None = None
) -> list[Regression]:
    """Read tool buckets and change events over the window and detect regressions."""
    s = settings or RegressionSettings()
    step = s.step_s * 1000
    start = end_ms - int(s.window_days * 86_400_000) // step * step
    tr = TimeRange(CUSTOM, start, end_ms, step)
    buckets = tool_buckets(reader, tr, filters or Filters())
    return detect(buckets, change_events(reader, start, end_ms, step, filters), s)
