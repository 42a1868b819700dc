"""``pulse forecast SELECTOR``: the forecast of each matching series, its model, MASE and exhaustion.

SELECTOR is a series selector (``host_disk_utilization_ratio{host="host-06"}``) or the name of a
fleet aggregate (``fleet_cpu``, ``fleet_memory``, ``fleet_disk``, ``sessions``, ``tool_calls``,
``active_users``). The history (``--history``, default 28 days) is read at ``--step`` (1 h) and each
series is forecast ``--horizon`` ahead by the model its backtest picked. With ``--threshold`` the
date the point forecast crosses it is printed, with the earliest and latest dates from the interval.
Exit status 0 with at least one series, 1 when the selector matched nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

import polars as pl

from core.capacity import (
    AGGREGATES,
    AutoForecaster,
    Exhaustion,
    Forecast,
    ForecastSettings,
    time_to_exhaustion,
)
from core.capacity.exhaustion import Direction
from core.kernel.errors import ConfigError
from core.kernel.settings import Settings
from core.kernel.times import parse_duration_ms


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _settings(args: argparse.Namespace) -> ForecastSettings:
    try:
        return ForecastSettings(
            horizon_s=parse_duration_ms(args.horizon) // 1000,
            step_s=parse_duration_ms(args.step) // 1000,
            level=args.level,
            after_reset=args.since_reset,
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"bad forecast option: {' '.join(str(exc).split())}") from exc


def _read(args: argparse.Namespace, settings: Settings, fs: ForecastSettings) -> pl.DataFrame:
    from core.storage.tsdb import open_store

    store = open_store(settings)
    now = store.now_ms()
    agg = AGGREGATES.get(args.selector)
    selector = agg.selector if agg else args.selector
    over = agg.over if agg else "avg"
    across = agg.across if agg else args.across
    end = now // fs.step_ms * fs.step_ms  # whole buckets only: the current one is still filling
    try:
        return store.select(
            selector,
            end - parse_duration_ms(args.history),
            end,
            step_ms=fs.step_ms,
            over_time=over,
            across=across,
        )
    finally:
        store.close()


def _summary(fc: Forecast, ex: Exhaustion | None) -> dict[str, object]:
    out: dict[str, object] = {"series": fc.key, "model": fc.model, "mase": fc.mase}
    out["no_better_than_naive"] = fc.no_better_than_naive
    out["undefined"] = fc.undefined
    if ex is not None:
        out["threshold"] = ex.threshold
        out.update(exhaustion=_iso(ex.at_ms), earliest=_iso(ex.earliest_ms), latest=_iso(ex.latest_ms))
    return out


def _print_table(fc: Forecast, ex: Exhaustion | None, level: int) -> None:
    if not fc.defined:
        print(f"{fc.key}: undefined: {fc.undefined}")
        return
    flag = "  (no better than seasonal naive)" if fc.no_better_than_naive else ""
    print(f"{fc.key}: model {fc.model}, MASE {fc.mase:.3f} vs seasonal naive on the held-out span{flag}")
    if ex is not None:
        sign = ">=" if ex.direction == "above" else "<="
        when = "now" if ex.already else _iso(ex.at_ms) or "not within the horizon"
        print(
            f"  {sign} {ex.threshold:g}: {when} (earliest {_iso(ex.earliest_ms) or '-'},"
            f" latest {_iso(ex.latest_ms) or '-'})"
        )
    print(f"  {'ts':<20} {'mean':>14} {f'lower {level}%':>14} {f'upper {level}%':>14}")
    for ts, mean, lo, hi in fc.frame.iter_rows():
        print(f"  {ts:%Y-%m-%dT%H:%M:%SZ} {mean:>14.6g} {lo:>14.6g} {hi:>14.6g}")


def cmd_forecast(args: argparse.Namespace, settings: Settings) -> int:
    fs = _settings(args)
    data = _read(args, settings, fs)
    if data.is_empty():
        print(f"no data: {args.selector!r} matched no series in the last {args.history}", file=sys.stderr)
        return 1
    forecasts = AutoForecaster(fs).forecast_frame(data)
    direction: Direction = "below" if args.below else "above"
    pairs = [
        (fc, None if args.threshold is None else time_to_exhaustion(fc, args.threshold, direction))
        for fc in forecasts
    ]
    if args.format == "json":
        rows = []
        for fc, ex in pairs:
            points = fc.frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_dicts()
            rows.append({**_summary(fc, ex), "level": fs.level, "points": points})
        print(json.dumps(rows, indent=2))
    elif args.format == "csv":
        from core.kernel.csvsafe import to_csv_bytes

        parts = [
            fc.frame.with_columns(**{k: pl.lit(v) for k, v in _summary(fc, ex).items()}) for fc, ex in pairs
        ]
        sys.stdout.write(to_csv_bytes(pl.concat(parts, how="diagonal_relaxed")).decode())
    else:
        for fc, ex in pairs:
            _print_table(fc, ex, fs.level)
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("selector", help=f"a series selector, or one of {', '.join(AGGREGATES)}")
    p.add_argument("--horizon", default="14d", help="how far ahead (default 14d)")
    p.add_argument("--threshold", type=float, default=None, help="print when the forecast crosses it")
    p.add_argument("--below", action="store_true", help="the threshold is crossed going down (headroom)")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.add_argument("--history", default="28d", help="history read to fit the models (default 28d)")
    p.add_argument("--step", default="1h", help="resample step of history and forecast (default 1h)")
    p.add_argument("--level", type=int, default=80, help="prediction interval level in percent (default 80)")
    p.add_argument(
        "--across", default=None, choices=["sum", "avg", "max"], help="forecast the matched series combined"
    )
    p.add_argument(
        "--since-reset",
        action="store_true",
        help="fit from the last reset (a disk cleanup) on: for metrics that fill up",
    )
    p.set_defaults(func=cmd_forecast)
