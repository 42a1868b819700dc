"""The CSV snapshots: usage per team and per user, the fleet's capacity forecast, open recommendations.

One function builds every frame as of an instant (:func:`snapshot_frames`), from the same domain
functions as the Usage view (``core.usage``), ``pulse forecast`` (``core.capacity``) and the
Optimization view (``core.optimization.service``), with their default settings and the
installation's unit prices (``settings.prices``, the ones the views start from); :func:`take`
writes them (formula-neutralised, ``core.kernel.csvsafe``) and prunes old files. The daemon's job
(:class:`DailySnapshots`) takes one set a day as of 00:00 UTC; ``pulse snapshot`` and an admin on
the Usage page take one now. Snapshots read the whole store: they are an admin's artefact.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from core.capacity import AGGREGATES, AutoForecaster, ForecastSettings
from core.kernel.csvsafe import to_csv_bytes
from core.kernel.settings import Settings
from core.kernel.settings.prices import PriceSettings
from core.optimization.service import OptimizationSettings, recommendations
from core.runtime.snapshot_files import DAY_MS, file_name, prune, ready_folder, write_atomic
from core.usage import usage_report
from core.views import Reader

log = logging.getLogger("pulse.snapshots")
HOUR_MS = 3_600_000


def _forecast(reader: Reader, as_of_ms: int, history_days: int) -> pl.DataFrame:
    """Each fleet aggregate's forecast, one row per step: point, interval, model and its MASE."""
    fs = ForecastSettings()
    end = as_of_ms - as_of_ms % fs.step_ms
    forecaster, parts = AutoForecaster(fs), []
    for agg in AGGREGATES.values():
        data = reader.select(
            agg.selector,
            end - history_days * DAY_MS,
            end,
            step_ms=fs.step_ms,
            over_time=agg.over,
            across=agg.across,
        )
        if data.is_empty():
            continue
        for fc in forecaster.forecast_frame(data):
            meta = {
                "aggregate": agg.name,
                "unit": agg.unit,
                "model": fc.model,
                "mase": fc.mase,
                "no_better_than_naive": fc.no_better_than_naive,
                "level": fc.level,
                "undefined": fc.undefined,
            }
            frame = (
                fc.frame
                if fc.defined
                else pl.DataFrame({"ts": [None]}, schema={"ts": pl.Datetime("ms", "UTC")})
            )
            parts.append(frame.with_columns(**{k: pl.lit(v) for k, v in meta.items()}))
    if not parts:
        return pl.DataFrame()
    out = pl.concat(parts, how="diagonal_relaxed")
    first = ["aggregate", "unit", "ts", "mean", "lower", "upper", "model", "mase"]
    return out.select(*[c for c in first if c in out.columns], *[c for c in out.columns if c not in first])


def _open_recommendations(reader: Reader, as_of_ms: int, prices: PriceSettings) -> dict[str, pl.DataFrame]:
    out, s = {}, OptimizationSettings(prices=prices)
    sizing = recommendations(reader, as_of_ms, "rightsizing", s)
    if "status" in sizing.columns and "savings_monthly" in sizing.columns:
        out["recommendations-rightsizing"] = sizing.filter(
            (pl.col("status") == "ok") & (pl.col("savings_monthly") > 0)
        ).sort("savings_monthly", descending=True)
    out["recommendations-idle"] = recommendations(reader, as_of_ms, "idle", s)
    return {k: v for k, v in out.items() if not v.is_empty()}


def snapshot_frames(reader: Reader, settings: Settings, as_of_ms: int) -> dict[str, pl.DataFrame]:
    """Every snapshot's frame as of ``as_of_ms`` (recommendations only when there are some)."""
    s = settings.snapshots
    start = as_of_ms - int(s.usage_days * DAY_MS)
    report = usage_report(reader, start, as_of_ms, settings.prices)
    frames = {"usage-per-team": report.teams, "usage-per-user": report.users}
    frames["capacity-forecast"] = _forecast(reader, as_of_ms, s.forecast_history_days)
    frames.update(_open_recommendations(reader, as_of_ms, settings.prices))
    return frames


@dataclass(frozen=True)
class Taken:
    folder: Path
    written: list[Path] = field(default_factory=list)
    deleted: list[Path] = field(default_factory=list)


def take(
    reader: Reader,
    settings: Settings,
    as_of_ms: int,
    folder: Path | None = None,
    setting: str = "setting 'snapshots.folder'",
) -> Taken:
    """Write every snapshot as of ``as_of_ms`` into ``folder`` (default: the configured one), then
    delete the files older than the retention. ConfigError when the folder cannot be used."""
    target = ready_folder(folder or settings.snapshot_dir, setting)
    written = [
        write_atomic(target / file_name(what, as_of_ms), to_csv_bytes(df))
        for what, df in snapshot_frames(reader, settings, as_of_ms).items()
    ]
    deleted = prune(target, as_of_ms, settings.snapshots.retention_days)
    return Taken(target, written, deleted)


class DailySnapshots:
    """The daemon's job: once a day (as of 00:00 UTC) when that day's files are missing; prunes."""

    def __init__(self, reader: Reader, settings: Settings, clock: Callable[[], int]) -> None:
        self.reader, self.settings, self.clock = reader, settings, clock

    def due(self) -> int | None:
        """The day (00:00 UTC, ms) whose snapshot is missing, or None."""
        day = self.clock() // DAY_MS * DAY_MS
        folder = self.settings.snapshot_dir
        done = all(
            (folder / file_name(what, day)).exists() for what in ("usage-per-team", "capacity-forecast")
        )
        return None if done else day

    def __call__(self) -> Taken | None:
        day = self.due()
        if day is None:
            prune(self.settings.snapshot_dir, self.clock(), self.settings.snapshots.retention_days)
            return None
        taken = take(self.reader, self.settings, day)
        log.info(
            "snapshots as of %s: %d file(s) written in %s",
            file_name("usage-per-team", day),
            len(taken.written),
            taken.folder,
        )
        return taken
