"""Settings of the daemon's Prometheus HTTP API and remote-write receiver (``[api]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

MIN_TOKEN = 16


class ApiToken(BaseModel):
    """``[[api.tokens]]``: one bearer token. ``teams`` scopes its reads; omitted = admin (all)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)  # the input holds the token

    name: str = Field(..., min_length=1, max_length=64, description="Who holds it (logged, never the token)")
    token: SecretStr = Field(..., description=f"The bearer token, at least {MIN_TOKEN} characters")
    teams: list[str] | None = Field(
        None, description="Teams whose series this token reads (None: every series, an admin token)"
    )
    write: bool = Field(
        False, description="May POST remote-write samples to /api/v1/write (admin tokens only)"
    )

    @model_validator(mode="after")
    def _check(self) -> ApiToken:
        secret = self.token.get_secret_value()
        if len(secret) < MIN_TOKEN or secret != secret.strip():
            raise PydanticCustomError(
                "api_token",
                "token of {name}: at least {n} characters without surrounding spaces "
                "(e.g. the output of `openssl rand -hex 32`)",
                {"name": self.name, "n": MIN_TOKEN},
            )
        if self.write and self.teams is not None:
            raise PydanticCustomError(
                "api_token",
                "token of {name}: a team-scoped token is read-only; drop write",
                {"name": self.name},
            )
        return self


class ApiSettings(BaseModel):
    """``[api]``: Prometheus' query API (Grafana's data source) and remote write, in `pulse collect`."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    enabled: bool = Field(
        False, description="Serve /api/v1/* (query API and remote write) in `pulse collect`"
    )
    host: str = Field("127.0.0.1", min_length=1, description="Address the API listens on")
    port: int = Field(9466, ge=0, le=65535, description="Port of the API (0 = pick a free one)")
    tokens: list[ApiToken] = Field(default_factory=list, description="Bearer tokens ([[api.tokens]])")
    max_samples: int = Field(
        5_000_000, ge=1000, description="Raw samples one query may read (Prometheus' --query.max-samples)"
    )
    timeout_s: float = Field(30.0, gt=0, le=600, description="Time one query may take (--query.timeout)")
    max_concurrent_queries: int = Field(
        4,
        ge=1,
        le=64,
        description="Queries evaluated at once; more wait up to timeout_s (--query.max-concurrency)",
    )
    max_write_bytes: int = Field(
        16 << 20, ge=1024, le=256 << 20, description="Largest remote-write body, compressed and decompressed"
    )
    max_write_samples: int = Field(
        100_000, ge=100, description="Most samples in one remote-write request (413 beyond)"
    )
    read_timeout_s: float = Field(10.0, gt=0, le=300, description="Time a client has to send its request")

    @model_validator(mode="after")
    def _tokens(self) -> ApiSettings:
        if self.enabled and not self.tokens:
            raise PydanticCustomError(
                "api_tokens", "api.tokens: at least one [[api.tokens]] is required when the API is enabled"
            )
        names = [t.name for t in self.tokens]
        secrets = [t.token.get_secret_value() for t in self.tokens]
        if len(set(names)) != len(names) or len(set(secrets)) != len(secrets):
            raise PydanticCustomError("api_tokens", "api.tokens: names and tokens must be unique")
        return self
