"""The daemon's scheduled jobs as a table: next run, last run, last duration, last error.

Read from the report the daemon writes every 15 s (``core.storage.repos.job_requests``); its age
says whether the daemon is alive: a report older than :data:`STALE_AFTER_MS` is from a daemon that
stopped or cannot write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from core.views import TS

STALE_AFTER_MS = 60_000
SCHEMA: dict[str, Any] = {
    "job": pl.Utf8,
    "interval_s": pl.Float64,
    "next_run": TS,
    "last_run": TS,
    "last_duration_s": pl.Float64,
    "last_error": pl.Utf8,
    "runs": pl.Int64,
    "errors": pl.Int64,
}


def jobs_frame(status: Mapping[str, Any]) -> pl.DataFrame:
    """One row per job, failing jobs first, then by name."""
    jobs: Sequence[Mapping[str, Any]] = status.get("jobs") or []
    rows = [
        (
            str(j.get("job")),
            j.get("interval_s"),
            j.get("next_run_ms"),
            j.get("last_run_ms"),
            j.get("last_duration_s"),
            j.get("last_error"),
            int(j.get("runs") or 0),
            int(j.get("errors") or 0),
        )
        for j in jobs
    ]
    raw = {**SCHEMA, "next_run": pl.Int64, "last_run": pl.Int64}
    df = pl.DataFrame(rows, schema=raw, orient="row")
    df = df.with_columns(pl.col("next_run").cast(TS), pl.col("last_run").cast(TS))
    return df.sort(pl.col("last_error").is_null(), "job")


def report_age_ms(status: Mapping[str, Any], now_ms: int) -> int | None:
    """How old the daemon's last report is (None: it never reported)."""
    at = status.get("reported_ms")
    return None if at is None else max(0, now_ms - int(at))


def job_names(status: Mapping[str, Any]) -> list[str]:
    return sorted(str(j.get("job")) for j in status.get("jobs") or [])
