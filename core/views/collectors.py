"""The daemon's collectors and sources as the Health page lists them: state, last success, error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from core.kernel.units import ago, span
from core.views import TS, conform, empty

STALE_INTERVALS = 3  # no success for this many intervals: the collector (or its daemon) is down
COLLECTOR_SCHEMA: dict[str, Any] = {
    "collector": pl.Utf8,
    "state": pl.Utf8,
    "last_success": TS,
    "age_s": pl.Float64,  # since the last success
    "age": pl.Utf8,  # the same, for people: "40 s ago"
    "last_duration_s": pl.Float64,
    "interval_s": pl.Float64,
    "error": pl.Utf8,
}
_STATE_ORDER = {"down": 0, "degraded": 1, "up": 2}


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _tool_errors(found: object, now_ms: int) -> list[str]:
    """The last failed tool call of each MCP server (a tool error leaves the source up)."""
    if not isinstance(found, Mapping):
        return []
    out = []
    for server, e in sorted(found.items()):
        if isinstance(e, Mapping):
            at = _num(e.get("at_ms"))
            when = f" {ago(max(0.0, (now_ms - at) / 1000))}" if at is not None else ""
            out.append(f"tool call {e.get('tool')} on {server} failed{when}: {e.get('error')}")
    return out


def _collector_row(name: str, h: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
    state = str(h.get("state") or "down")
    interval, success = _num(h.get("interval_s")), _num(h.get("last_success_ms"))
    age = None if success is None else max(0.0, (now_ms - success) / 1000)
    errors = [str(h["last_error"])] if h.get("last_error") else []
    partial = h.get("partial_errors") or {}
    if isinstance(partial, Mapping):
        errors += [f"{group}: {err}" for group, err in sorted(partial.items())]
    errors += _tool_errors(h.get("tool_errors"), now_ms)
    if interval and age is not None and age > STALE_INTERVALS * interval:
        state = "down"
        errors.insert(
            0,
            f"no success for {span(age)} (over {STALE_INTERVALS} x its {span(interval)} interval): "
            "is `pulse collect` running?",
        )
    return {
        "collector": name,
        "state": state,
        "last_success": None if success is None else int(success),
        "age_s": age,
        "age": ago(age) or "never",
        "last_duration_s": _num(h.get("last_duration_s")),
        "interval_s": interval,
        "error": "; ".join(errors) or None,
    }


def collector_health(health: Mapping[str, Mapping[str, Any]], now_ms: int) -> pl.DataFrame:
    """The daemon's collector health (``core.storage.repos.health_report``) as a table, worst first.

    A collector whose last success is older than STALE_INTERVALS x its interval reads ``down``
    whatever it last said: its daemon has stopped publishing. No team data: safe for everyone.
    """
    if not health:
        return empty(COLLECTOR_SCHEMA)
    rows = [_collector_row(name, h, now_ms) for name, h in health.items() if isinstance(h, Mapping)]
    df = pl.DataFrame(rows, schema={**COLLECTOR_SCHEMA, "last_success": pl.Int64}, orient="row")
    df = df.with_columns(pl.col("last_success").cast(TS))
    order = pl.col("state").replace_strict(_STATE_ORDER, default=-1, return_dtype=pl.Int64)
    return conform(df.sort(order, "collector"), COLLECTOR_SCHEMA)
