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

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from core.kernel.times import CUSTOM, TimeRange
from core.optimization.deploys import change_events, nearest
from core.views import Filters, Reader
from core.views.performance import tool_buckets

HOUR_MS = 3_600_000


class RegressionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: float = Field(7, ge=0.25, le=90, description="History searched (days)")
    step_s: int = Field(300, ge=60, le=3600, description="Bucket width of the searched series (s)")
    penalty: float = Field(
        8.0, gt=0, le=1000, description="Change-point penalty, times noise variance times log n"
    )
    min_ratio: float = Field(1.5, gt=1, le=100, description="Smallest latency level change reported (ratio)")
    min_error_increase: float = Field(
        0.1, gt=0, le=1, description="Smallest error-ratio increase reported (absolute)"
    )
    min_duration_min: float = Field(
        60, ge=5, le=10_080, description="Shortest latency regression reported (minutes)"
    )
    min_error_duration_min: float = Field(
        20, ge=5, le=10_080, description="Shortest error-ratio rise reported (minutes)"
    )
    error_z: float = Field(10.0, gt=0, le=100, description="Binomial z-score an error-ratio rise must reach")
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


def change_points(x: np.ndarray, penalty: float, min_size: int, sd: float | None = None) -> list[int]:
    """Indexes where a new segment starts (ruptures KernelCPD, linear kernel, penalised).

    ``sd`` is the noise level (default: from the median absolute first difference).
    """
    n = x.size
    sd = noise_sd(x) if sd is None else sd
    if n < 2 * min_size or sd <= 0:
        return []
    import ruptures as rpt  # here, not at the top: 1-5 s to import, which every daemon start would pay

    algo = rpt.KernelCPD(kernel="linear", min_size=min_size).fit(x.reshape(-1, 1))
    return [b for b in algo.predict(pen=penalty * sd * sd * np.log(n)) if b < n]


def _segments(x: np.ndarray, breaks: list[int]) -> list[tuple[int, int, float]]:
    edges = [0, *breaks, x.size]
    return [(a, b, float(np.median(x[a:b]))) for a, b in zip(edges, edges[1:], strict=False)]


Significant = Callable[[slice, slice], bool]


def _findings(
    x: np.ndarray, s: RegressionSettings, significant: Significant, minutes: float, sd: float | None = None
) -> list[tuple[slice, slice, int | None]]:
    """(segment before, segment after, index of the recovery or None) of each significant rise."""
    min_size = max(2, int(minutes * 60 / s.step_s))
    segs = _segments(x, change_points(x, s.penalty, min_size, sd))
    out = []
    for i in range(1, len(segs)):
        (pa, pb, before), (a, b, after) = segs[i - 1], segs[i]
        if after > before and significant(slice(pa, pb), slice(a, b)):
            rise = after - before
            back = next((segs[j][0] for j in range(i + 1, len(segs)) if segs[j][2] - before < rise / 2), None)
            out.append((slice(pa, pb), slice(a, b), back))
    return out


def _latency_rise(raw: np.ndarray, resid: np.ndarray, s: RegressionSettings) -> Significant:
    def test(before: slice, after: slice) -> bool:
        shift = np.median(resid[after]) - np.median(resid[before])
        return bool(
            shift >= np.log(s.min_ratio) and np.median(raw[after]) >= s.min_ratio * np.median(raw[before])
        )

    return test


def _error_rise(calls: np.ndarray, errors: np.ndarray, s: RegressionSettings) -> Significant:
    """More errors after than the series' usual ratio explains (binomial z-score), by enough.

    The usual ratio is taken over the whole series but the segment, not just the segment before
    it, which may be short and error-free by chance.
    """
    total_calls, total_errors = calls.sum(), errors.sum()

    def test(before: slice, after: slice) -> bool:
        n1, e1 = calls[after].sum(), errors[after].sum()
        p0 = (total_errors - e1) / max(total_calls - n1, 1.0)
        p1 = e1 / max(n1, 1.0)
        z = (e1 - n1 * p0) / np.sqrt(max(n1 * p0 * (1 - p0), 1.0))
        return bool(z >= s.error_z and p1 - p0 >= s.min_error_increase and p1 >= 2 * p0)

    return test


def _series(b: pl.DataFrame) -> dict[tuple[str, str], pl.DataFrame]:
    df = b.with_columns(pl.col("ts").dt.epoch("ms").alias("ts_ms"))
    df = df.sort("server", "gen_ai_tool_name", "ts_ms")
    groups = df.group_by("server", "gen_ai_tool_name", maintain_order=True)
    return {(str(k[0]), str(k[1])): g for k, g in groups}


def _tie(
    events: pl.DataFrame, server: str, start_ms: int, s: RegressionSettings
) -> tuple[str | None, int | None, str]:
    ev = nearest(events, server, start_ms, int(s.cause_within_min * 60_000))
    return (
        (None, None, "no deploy or config change nearby")
        if ev is None
        else (ev["kind"], ev["ts_ms"], ev["detail"])
    )


def _finding(
    server: str,
    tool: str,
    metric: str,
    ts: np.ndarray,
    raw: np.ndarray,
    hit: tuple[slice, slice, int | None],
    chart: pl.DataFrame,
    events: pl.DataFrame,
    s: RegressionSettings,
) -> Regression:
    seg0, seg1, back = hit
    start = int(ts[seg1.start])
    cause, cause_ms, detail = _tie(events, server, start, s)
    before, after = float(np.mean(raw[seg0])), float(np.mean(raw[seg1]))
    if metric == "p95_latency":
        before, after = float(np.median(raw[seg0])), float(np.median(raw[seg1]))
    return Regression(
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


def detect(
    buckets: pl.DataFrame, events: pl.DataFrame, settings: RegressionSettings | None = None
) -> list[Regression]:
    """Regressions in ``buckets`` (rows of ``tool_buckets``) tied to ``events`` (``change_events``)."""
    s = settings or RegressionSettings()
    found: list[Regression] = []
    for (server, tool), g in _series(buckets).items():
        lat = g.filter(pl.col("p95").is_not_null() & (pl.col("p95") > 0))
        if lat.height >= 4:
            ts, raw = lat["ts_ms"].to_numpy(), lat["p95"].to_numpy().astype(np.float64)
            base = seasonal_baseline(ts, np.log(raw))
            resid = np.log(raw) - base
            hits = _findings(resid, s, _latency_rise(raw, resid, s), s.min_duration_min)
            chart = pl.DataFrame({"ts_ms": ts, "value": raw, "baseline": np.exp(base)})
            found += [_finding(server, tool, "p95_latency", ts, raw, h, chart, events, s) for h in hits]
        err = g.filter(pl.col("calls") > 0)
        if err.height >= 4:
            ts, calls = err["ts_ms"].to_numpy(), err["calls"].to_numpy().astype(np.float64)
            errors = err["errors"].fill_null(0).to_numpy().astype(np.float64)
            ratio = errors / calls
            p = max(errors.sum(), 1.0) / calls.sum()  # binomial noise: most buckets count no error at all
            sd = max(noise_sd(ratio), float(np.sqrt(p * (1 - p) / np.median(calls))))
            hits = _findings(ratio, s, _error_rise(calls, errors, s), s.min_error_duration_min, sd)
            chart = pl.DataFrame(
                {"ts_ms": ts, "value": ratio, "baseline": np.full_like(ratio, np.median(ratio))}
            )
            found += [_finding(server, tool, "error_ratio", ts, ratio, h, chart, events, s) for h in hits]
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
