"""Settings of a ``process`` source: groups of local processes matched by name or command line."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.sources.common import SourceBase


class ProcessGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", description="Value of the group label")
    pattern: str = Field(min_length=1, description="Regular expression searched in the name or command line")
    match: Literal["name", "cmdline"] = "cmdline"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        return v


class ProcessSource(SourceBase):
    kind: Literal["process"] = "process"
    interval_s: float = Field(15, ge=1, le=86_400)
    groups: list[ProcessGroup] = Field(min_length=1)
    rescan_interval_s: float = Field(
        60, ge=1, le=86_400, description="Seconds between two walks of the whole process table"
    )

    @model_validator(mode="after")
    def _unique(self) -> ProcessSource:
        names = [g.name for g in self.groups]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"group names must be unique; repeated: {', '.join(dup)}")
        return self
