"""Settings of the scheduled CSV snapshots (usage per team and user, capacity forecast, open
recommendations) that the daemon writes once a day and ``pulse snapshot`` writes on demand."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SnapshotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="The daemon writes one set of snapshots a day (as of 00:00 UTC)")
    folder: Path | None = Field(
        None, description="Where the files go; default: the 'snapshots' folder of data_dir"
    )
    retention_days: int = Field(
        30, ge=1, le=3650, description="Snapshot files older than this many days are deleted"
    )
    usage_days: float = Field(
        1, gt=0, le=90, description="Usage is summed over this many days before the snapshot's time"
    )
    forecast_history_days: int = Field(
        28, ge=3, le=90, description="History read to fit the capacity forecasts of the fleet aggregates"
    )
    check_interval_s: int = Field(
        900, ge=1, le=86_400, description="How often the daemon checks whether today's snapshot is due"
    )

    @field_validator("folder")
    @classmethod
    def _folder(cls, v: Path | None) -> Path | None:
        if v is not None and not str(v).strip():
            raise ValueError("must be a folder path, or left out for data_dir/snapshots")
        if v is not None and v.exists() and not v.is_dir():
            raise ValueError("exists and is not a folder; pick a folder for the snapshots")
        return v
