"""What every configured source has: a name, an interval, a timeout, extra labels."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class SourceBase(BaseModel):
    """Fields shared by every source kind; an unknown key is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    kind: str  # each kind's model narrows it to a Literal (the discriminator)
    name: str = Field(
        pattern=NAME_PATTERN,
        description="Unique name of the source (lower case, digits, - and _); it is the collector's name",
    )
    interval_s: float = Field(30, ge=1, le=86_400, description="Seconds between two collections")
    timeout_s: float = Field(10, gt=0, le=300, description="Seconds one request to the source may take")
    enabled: bool = Field(True, description="A disabled source is kept in the settings but not collected")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Extra labels added to every sample of this source"
    )

    @field_validator("labels")
    @classmethod
    def _label_names(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k in v if not _LABEL_NAME.match(k) or k.startswith("__")]
        if bad:
            raise ValueError(f"invalid label name(s) {', '.join(map(repr, bad))}: use [a-zA-Z_][a-zA-Z0-9_]*")
        return v

    @property
    def deadline_s(self) -> float:
        """How long one whole collect() may run before the scheduler calls it hung."""
        return self.timeout_s * 3 + 5
