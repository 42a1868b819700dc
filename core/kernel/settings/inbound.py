"""Settings of the inbound Alertmanager webhook (``[alerting.inbound]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

MIN_TOKEN = 16


class InboundSettings(BaseModel):
    """``[alerting.inbound]``: the daemon's endpoint for Alertmanager webhook deliveries."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)  # the input holds the token

    enabled: bool = Field(False, description="Accept Alertmanager webhook POSTs in `pulse collect`")
    host: str = Field("127.0.0.1", min_length=1, description="Address the inbound endpoint listens on")
    port: int = Field(9465, ge=0, le=65535, description="Port of the inbound endpoint (0 = pick a free one)")
    path: str = Field(
        "/api/alerts/inbound",
        pattern=r"^/[A-Za-z0-9._~/-]*$",
        max_length=200,
        description="URL path Alertmanager posts to (its webhook_configs url)",
    )
    token: SecretStr | None = Field(
        None,
        description=f"Bearer token Alertmanager must send (http_config.authorization.credentials); "
        f"required when enabled, at least {MIN_TOKEN} characters",
    )
    max_body_bytes: int = Field(
        1 << 20, ge=1024, le=64 << 20, description="Largest request body accepted (413 beyond)"
    )
    max_alerts: int = Field(
        1000, ge=1, le=100_000, description="Most alerts in one payload (set max_alerts in Alertmanager too)"
    )
    read_timeout_s: float = Field(10.0, gt=0, le=300, description="Time a client has to send its request")

    @model_validator(mode="after")
    def _token_when_enabled(self) -> InboundSettings:
        # checked here, on the whole section, so an error never echoes the token itself
        token = self.token.get_secret_value() if self.token is not None else ""
        if self.enabled and not token.strip():
            raise PydanticCustomError(
                "inbound_token",
                "token is required when inbound alerts are enabled: set alerting.inbound.token "
                "(or PULSE_ALERTING__INBOUND__TOKEN) to a long random string and give Alertmanager "
                "the same one as http_config.authorization.credentials",
            )
        if token and (len(token) < MIN_TOKEN or token != token.strip()):
            raise PydanticCustomError(
                "inbound_token",
                "token must be at least {n} characters without surrounding spaces "
                "(e.g. the output of `openssl rand -hex 32`)",
                {"n": MIN_TOKEN},
            )
        return self
