"""Settings of a ``scrape`` source: one Prometheus text / OpenMetrics exposition endpoint."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from core.sources.common import SourceBase


class ScrapeSource(SourceBase):
    kind: Literal["scrape"] = "scrape"
    url: str = Field(pattern=r"^https?://", description="URL of the /metrics endpoint")
    max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, le=1024**3, description="A larger body is refused, not parsed"
    )
    bearer_token: SecretStr | None = None
    verify_tls: bool = True
    metric_prefix: str = Field(
        "", pattern=r"^([a-zA-Z_:][a-zA-Z0-9_:]*)?$", description="Prepended to every scraped metric name"
    )
