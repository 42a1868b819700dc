"""Right-sizing every MCP server container: usage statistics -> recommendations with evidence.

:func:`recommend` applies one strategy to every row of :func:`core.optimization.usage.read_usage`
and attaches the evidence, the risk flags (throttling, OOM kills, restarts, little history,
bursty usage) and the savings (cores, GiB, money a month from the unit prices).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from core.optimization.model import GIB, Evidence, Recommendation, Resources, Risk
from core.optimization.settings import PriceSettings, UsageSettings
from core.optimization.strategies import SimpleLimitStrategy, Strategy, throttled_ratio
from core.optimization.usage import read_usage
from core.views import Filters, Reader

BURST_RATIO = 2.0  # CPU peak (bucket maxima) over p95 (bucket averages) above this: bursty usage
THROTTLED_RISK = 0.01  # share of CFS periods throttled that counts as a risk


def evidence(u: Mapping[str, Any], step_s: int) -> Evidence:
    return Evidence(
        window_start_ms=int(u["first_ms"] or 0),
        window_end_ms=int(u["last_ms"] or 0),
        step_s=step_s,
        points=int(u["points"] or 0),
        history_hours=((u["last_ms"] or 0) - (u["first_ms"] or 0)) / 3_600_000,
        cpu_p50=u["cpu_p50"],
        cpu_p95=u["cpu_p95"],
        cpu_p99=u["cpu_p99"],
        cpu_peak=u["cpu_peak"],
        memory_p95=u["memory_p95"],
        memory_peak=u["memory_peak"],
        restarts=float(u["restarts"] or 0),
        oom_kills=float(u["oom_kills"] or 0),
        throttled_ratio=throttled_ratio(u),
    )


def risks(u: Mapping[str, Any], ev: Evidence, strategy: Strategy, rec: Resources | None) -> tuple[Risk, ...]:
    out = []
    if ev.throttled_ratio is not None and ev.throttled_ratio > THROTTLED_RISK:
        out.append(Risk("cpu_throttling", f"{ev.throttled_ratio:.1%} of CFS periods throttled"))
    if ev.oom_kills > 0:
        out.append(Risk("oom_kills", f"{ev.oom_kills:g} OOM kills: the memory peak is censored by the limit"))
    if ev.restarts > ev.oom_kills:
        out.append(Risk("restarts", f"{ev.restarts:g} restarts in the window"))
    s = strategy.settings
    if ev.points < 2 * s.points_required or ev.history_hours < 24:
        out.append(Risk("little_history", f"{ev.points} samples over {ev.history_hours:.1f} h"))
    if ev.cpu_p95 and ev.cpu_peak and ev.cpu_peak > BURST_RATIO * ev.cpu_p95:
        out.append(Risk("bursty", f"CPU peak {ev.cpu_peak:.3f} is {ev.cpu_peak / ev.cpu_p95:.1f}x the p95"))
    limit = u["memory_limit"]
    if rec is None and limit and ev.memory_peak and ev.memory_peak > 0.9 * limit:
        out.append(Risk("limit_below_peak", "memory peak above 90% of the current limit"))
    return tuple(out)


def _current(u: Mapping[str, Any]) -> Resources:
    return Resources(u["cpu_request"], u["cpu_limit"], u["memory_request"], u["memory_limit"])


def recommend_row(
    u: Mapping[str, Any], strategy: Strategy, prices: PriceSettings, step_s: int
) -> Recommendation:
    ev, cur = evidence(u, step_s), _current(u)
    got = strategy.recommend(u)
    rec = got if isinstance(got, Resources) else None
    cores = (cur.cpu_request or 0) - rec.cpu_request if rec and rec.cpu_request is not None else 0.0
    gib = ((cur.memory_request or 0) - rec.memory_request) / GIB if rec and rec.memory_request else 0.0
    return Recommendation(
        server=u["server"],
        host=u["host"] or "",
        team=u["team"] or "",
        session_id=u["session_id"] or "",
        strategy=strategy.name,
        current=cur,
        recommended=rec,
        evidence=ev,
        risks=risks(u, ev, strategy, rec),
        reason="" if rec else str(got),
        savings_cores=cores,
        savings_gib=gib,
        savings_monthly=prices.monthly(cores, gib),
        info={"strategy": strategy.description, "settings": strategy.settings.model_dump_json()},
    )


def recommend(
    usage: pl.DataFrame,
    strategy: Strategy | None = None,
    prices: PriceSettings | None = None,
    step_s: int = UsageSettings().step_s,
) -> list[Recommendation]:
    """One recommendation per container row of ``usage``, sorted by monthly savings (largest first)."""
    strategy, prices = strategy or SimpleLimitStrategy(), prices or PriceSettings()
    recs = [recommend_row(u, strategy, prices, step_s) for u in usage.iter_rows(named=True)]
    return sorted(recs, key=lambda r: (-r.savings_monthly, r.server))


def rightsize(
    reader: Reader,
    end_ms: int,
    strategy: Strategy | None = None,
    usage_settings: UsageSettings | None = None,
    prices: PriceSettings | None = None,
    filters: Filters | None = None,
) -> list[Recommendation]:
    """Read usage in bulk and recommend for every container in scope."""
    usage_settings = usage_settings or UsageSettings()
    usage = read_usage(reader, end_ms, usage_settings, filters)
    return recommend(usage, strategy, prices, usage_settings.step_s)


def to_frame(recs: list[Recommendation]) -> pl.DataFrame:
    """Flat rows for tables, CSV and JSON."""
    return pl.DataFrame([r.row() for r in recs], infer_schema_length=None) if recs else pl.DataFrame()
