"""Settings of a ``prometheus`` source: a Prometheus server read with PromQL.

The collector (``collectors/prometheus.py``) runs each query as an instant query every
``interval_s``, and fills gaps (first connect, outages) with range queries of step ``interval_s``
reaching back at most ``backfill_max_s``. ``queries = None`` uses the node-exporter and cAdvisor
mapping of ``collectors/prometheus_defaults.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from core.kernel.settings.sources.common import SourceBase

PROM_DURATION = r"^([0-9]+(ms|s|m|h|d|w|y))+$"


class PromQuery(BaseModel):
    """One PromQL query whose result series become samples of one Pulse metric."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", description="Pulse metric name")
    promql: str = Field(min_length=1, description="Instant-vector PromQL expression")
    rename: dict[str, str] = Field(
        default_factory=dict, description="Prometheus label -> Pulse label, e.g. instance -> host"
    )
    keep: list[str] | None = Field(
        None, description="Labels kept (after renaming); None keeps all but __name__"
    )


class PrometheusSource(SourceBase):
    kind: Literal["prometheus"] = "prometheus"
    url: str = Field(
        pattern=r"^https?://",
        description="Base URL of the Prometheus server (with its --web.route-prefix, if any)",
    )
    basic_auth_user: str | None = None
    basic_auth_password: SecretStr | None = None
    bearer_token: SecretStr | None = None
    verify_tls: bool = True
    ca_file: str | None = Field(None, description="CA bundle to verify the server's certificate with")
    queries: list[PromQuery] | None = Field(
        None, description="PromQL -> Pulse metric mapping; None uses the node-exporter + cAdvisor defaults"
    )
    backfill_max_s: float = Field(
        6 * 3600,
        ge=0,
        le=30 * 86_400,
        description="Longest gap filled by range queries on first connect and after an outage (0: never)",
    )
    strip_instance_port: bool = Field(
        True,
        description="Drop the :port of the instance label (10.0.0.5:9100 -> 10.0.0.5) before renaming, "
        "so node-exporter and cAdvisor of one machine share one host label",
    )
    rate_window: str = Field(
        "2m",
        pattern=PROM_DURATION,
        description="Range of rate() in the default mapping; at least 4x the scrape interval",
    )

    @model_validator(mode="after")
    def _one_auth(self) -> PrometheusSource:
        if self.bearer_token is not None and self.basic_auth_user is not None:
            raise ValueError("use either bearer_token or basic_auth_user/basic_auth_password, not both")
        if (self.basic_auth_user is None) != (self.basic_auth_password is None):
            raise ValueError("basic_auth_user and basic_auth_password go together")
        return self
