"""Settings of a ``process`` source: groups of local processes matched by name or command line.

One source watches the processes of this host. Each group (one per MCP server kind, say) is a
regular expression searched (``re.search``) in either the process name or its command line joined
with spaces; a process belongs to the *first* group that matches it, so the groups' sums never count
a process twice (the ``process-exporter`` convention). The whole process table is walked only every
``rescan_interval_s``; between walks the collector reads the processes it already matched.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.kernel.settings.sources.common import SourceBase

RESERVED_LABELS = frozenset({"group", "source"})


class ProcessGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", description="Value of the group label")
    pattern: str = Field(min_length=1, description="Regular expression searched in the name or command line")
    match: Literal["name", "cmdline"] = Field(
        "cmdline",
        description="Search the pattern in the process name (as `ps -e` shows it) or in its command line",
    )

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
        60,
        ge=1,
        le=86_400,
        description="Seconds between two walks of the whole process table; new processes are found "
        "at the next walk, vanished ones at the next collection",
    )
    restart_window_s: float | None = Field(
        None,
        ge=1,
        le=86_400,
        description="A process that leaves a group counts as a restart when a new one joins the group "
        "within this many seconds (default: 5 x rescan_interval_s); at least rescan_interval_s",
    )

    @field_validator("labels")
    @classmethod
    def _no_reserved(cls, v: dict[str, str]) -> dict[str, str]:
        clash = sorted(RESERVED_LABELS & set(v))
        if clash:
            raise ValueError(f"label(s) {', '.join(map(repr, clash))} are set by the process source itself")
        return v

    @model_validator(mode="after")
    def _unique(self) -> ProcessSource:
        names = [g.name for g in self.groups]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"group names must be unique; repeated: {', '.join(dup)}")
        if self.restart_window_s is not None and self.restart_window_s < self.rescan_interval_s:
            raise ValueError(
                f"restart_window_s ({self.restart_window_s:g}) must be at least rescan_interval_s "
                f"({self.rescan_interval_s:g}): a replacement is only found by the next walk"
            )
        return self

    @property
    def restart_window(self) -> float:
        """Seconds a lost process waits for its replacement before it stops counting as a restart."""
        return self.rescan_interval_s * 5 if self.restart_window_s is None else self.restart_window_s
