"""Settings of a ``scrape`` source: one Prometheus text / OpenMetrics exposition endpoint."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from core.kernel.settings.sources.common import SourceBase


class ScrapeSource(SourceBase):
    """One ``/metrics`` endpoint scraped directly, as a Prometheus ``static_configs`` target.

    Every sample gets the labels ``source`` (this source's name) and ``instance`` (host:port of
    the URL), then ``labels``; a scraped label that clashes with one of them is kept as
    ``exported_<name>`` (Prometheus's ``honor_labels: false``).
    """

    kind: Literal["scrape"] = "scrape"
    url: str = Field(pattern=r"^https?://", description="URL of the /metrics endpoint")
    max_body_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        le=1024**3,
        description="A larger body (after decompression) is refused, not parsed: reading stops at the limit",
    )
    bearer_token: SecretStr | None = None
    verify_tls: bool = True
    metric_prefix: str = Field(
        "", pattern=r"^([a-zA-Z_:][a-zA-Z0-9_:]*)?$", description="Prepended to every scraped metric name"
    )
    honor_timestamps: bool = Field(
        True,
        description="Use the timestamps the target exposes; when false, every sample gets the scrape time",
    )
    sample_limit: int = Field(
        0,
        ge=0,
        le=100_000_000,
        description="More samples than this in one body fail the scrape, as Prometheus' sample_limit (0: none)",
    )
    label_limit: int = Field(
        128,
        ge=0,
        le=100_000,
        description="A sample with more labels (metric name and target labels included) fails the scrape (0: none)",
    )
    label_name_length_limit: int = Field(
        0, ge=0, le=1_000_000, description="A label name longer than this (bytes) fails the scrape (0: none)"
    )
    label_value_length_limit: int = Field(
        0,
        ge=0,
        le=1_000_000,
        description="A label value longer than this (bytes) fails the scrape (0: none; the store drops values over 1000)",
    )
