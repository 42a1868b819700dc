"""Settings of the notification channels, one model per ``type``, and of delivery retries.

``[[alerting.channels]]`` tables pick a model by ``type``: webhook, slack, pagerduty, email,
alertmanager. Secrets are ``SecretStr`` (never printed); an unknown key is an error.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from core.kernel.errors import ConfigError
from core.kernel.records.alerts import SEVERITIES
from core.kernel.settings.sources.common import NAME_PATTERN

PD_SEVERITIES = ("critical", "error", "warning", "info")
# Fields whose input must never be echoed in an error message.
SECRET_FIELDS = frozenset({"url", "webhook_url", "routing_key", "password", "bearer_token"})


def _check_url(v: str) -> str:
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host, e.g. https://alerts.example.com/hook")
    return v


UrlStr = Annotated[str, AfterValidator(_check_url)]


class ChannelBase(BaseModel):
    """Fields every channel has; each type's model narrows ``type`` to a Literal (the discriminator)."""

    model_config = ConfigDict(extra="forbid")

    type: str
    name: str = Field(
        pattern=NAME_PATTERN,
        description="Unique name of the channel (lower case, digits, - and _); routes refer to it",
    )
    enabled: bool = Field(True, description="A disabled channel is kept in the settings but sends nothing")
    send_resolved: bool = Field(True, description="Also notify when alerts resolve")
    every_change: bool = Field(
        False,
        description="Deliver every state change of a group, in order, also those made while the "
        "receiver was down (default: a waiting notification is replaced by its group's newer state, "
        "as Alertmanager does, so a firing that started and ended during an outage arrives only as resolved)",
    )
    rate_limit_per_minute: int = Field(
        30, ge=0, le=10_000, description="Notifications per minute this channel may send (0: no limit)"
    )


class HttpChannel(ChannelBase):
    timeout_s: float = Field(10, gt=0, le=300, description="Seconds one HTTP request may take")
    verify_tls: bool = Field(True, description="Verify the receiver's TLS certificate")
    ca_file: str | None = Field(None, description="CA bundle to verify the receiver's certificate with")


class WebhookChannel(HttpChannel):
    """A generic webhook receiving the Alertmanager webhook payload (version 4)."""

    type: Literal["webhook"] = "webhook"
    url: UrlStr = Field(description="Where the payload is POSTed")
    bearer_token: SecretStr | None = Field(None, description="Sent as 'Authorization: Bearer <token>'")
    max_alerts: int = Field(
        0, ge=0, description="Most alerts in one payload; the rest are counted in truncatedAlerts (0: all)"
    )


class SlackChannel(HttpChannel):
    """A Slack incoming webhook (https://hooks.slack.com/services/...)."""

    type: Literal["slack"] = "slack"
    webhook_url: SecretStr = Field(description="The incoming webhook URL Slack gave you (a secret)")
    channel: str | None = Field(None, description="Overrides the webhook's channel, e.g. #alerts")
    username: str | None = Field(None, description="Overrides the webhook's user name")
    icon_emoji: str | None = Field(None, pattern=r"^:[a-z0-9_+-]+:$", description="e.g. :rotating_light:")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, v: SecretStr) -> SecretStr:
        _check_url(v.get_secret_value())
        return v


class PagerDutyChannel(HttpChannel):
    """PagerDuty Events API v2: one alert per notification group, keyed by ``dedup_key``."""

    type: Literal["pagerduty"] = "pagerduty"
    routing_key: SecretStr = Field(description="Integration key of an Events API v2 integration (a secret)")
    url: UrlStr = Field("https://events.pagerduty.com/v2/enqueue", description="Events API v2 endpoint")
    severity: dict[str, str] = Field(
        default_factory=lambda: {"critical": "critical", "warning": "warning", "info": "info"},
        description="Pulse severity -> PagerDuty severity (critical, error, warning, info)",
    )
    source: str | None = Field(
        None, description="payload.source; default: the common host/instance label, else 'mcp-pulse'"
    )
    client: str = Field("MCP Pulse", description="Shown in PagerDuty as the sender")

    @field_validator("routing_key")
    @classmethod
    def _key(cls, v: SecretStr) -> SecretStr:
        if not v.get_secret_value().strip():
            raise ValueError("must not be empty: copy the Integration Key of an Events API v2 integration")
        return v

    @field_validator("severity")
    @classmethod
    def _severity(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(SEVERITIES))
        if unknown:
            raise ValueError(f"unknown Pulse severity {', '.join(unknown)}: use {', '.join(SEVERITIES)}")
        bad = sorted({s for s in v.values() if s not in PD_SEVERITIES})
        if bad:
            raise ValueError(f"unknown PagerDuty severity {', '.join(bad)}: use {', '.join(PD_SEVERITIES)}")
        return {"critical": "critical", "warning": "warning", "info": "info", **v}


class EmailChannel(ChannelBase):
    """Email over SMTP, plain, STARTTLS or implicit TLS (SSL), with optional AUTH."""

    type: Literal["email"] = "email"
    host: str = Field(min_length=1, description="SMTP server host name")
    port: int = Field(587, ge=1, le=65535, description="587 for STARTTLS, 465 for SSL, 25 for none")
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls: upgrade after connecting; ssl: TLS from the start; none: plain"
    )
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$", description="From address")
    to: list[Annotated[str, Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$")]] = Field(
        min_length=1, description="Recipient addresses"
    )
    timeout_s: float = Field(15, gt=0, le=300)
    verify_tls: bool = True
    ca_file: str | None = Field(None, description="CA bundle to verify the server's certificate with")
    hello: str = Field(
        "localhost", min_length=1, description="Name sent in EHLO (as Alertmanager's default, no DNS lookup)"
    )

    @model_validator(mode="after")
    def _auth(self) -> EmailChannel:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.password is not None and self.security == "none" and not _loopback(self.host):
            raise ValueError(
                "refusing to send the SMTP password unencrypted: use security 'starttls' or 'ssl' "
                "(plain AUTH is only allowed to a loopback host)"
            )
        return self


class AlertmanagerChannel(HttpChannel):
    """A real Alertmanager fed through ``POST /api/v2/alerts``, re-sent while the alerts fire."""

    type: Literal["alertmanager"] = "alertmanager"
    url: UrlStr = Field(description="Base URL of the Alertmanager, e.g. http://alertmanager:9093")
    bearer_token: SecretStr | None = None
    resend_interval_s: float = Field(
        60,
        ge=1,
        le=3600,
        description="Firing alerts are sent again this often, like Prometheus' resend delay",
    )

    @property
    def ends_at_horizon_s(self) -> float:
        """How far ahead a firing alert's endsAt lies: four resends, as Prometheus does."""
        return 4 * self.resend_interval_s


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ChannelSettings = Annotated[
    WebhookChannel | SlackChannel | PagerDutyChannel | EmailChannel | AlertmanagerChannel,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[list[ChannelSettings]] = TypeAdapter(list[ChannelSettings])


class RetrySettings(BaseModel):
    """How failed deliveries are retried: a few tries at once, then from the outbox with backoff."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(
        3, ge=1, le=10, description="Tries at once before a notification waits in the outbox"
    )
    backoff_initial_s: float = Field(1, gt=0, le=600, description="Wait before the second try")
    backoff_max_s: float = Field(300, gt=0, le=86_400, description="Longest wait between two tries")
    jitter: float = Field(0.2, ge=0, le=1, description="Each wait is randomised by +/- this fraction")
    give_up_after_s: float = Field(
        86_400, gt=0, description="A notification still undelivered this long after its first try is dropped"
    )
    max_outbox: int = Field(
        10_000, ge=1, description="Most notifications waiting; the oldest is dropped beyond"
    )


def describe_error(err: dict[str, Any], raw: list[Any] | None = None, prefix: str = "channels") -> str:
    """One line naming the channel and its field, without echoing a secret input."""
    loc = [str(p) for p in err["loc"]]
    where = ".".join([prefix, *loc])
    first = err["loc"][0] if err["loc"] else None
    owner = ""
    if raw is not None and isinstance(first, int) and first < len(raw) and isinstance(raw[first], dict):
        name = raw[first].get("name")
        owner = f" of channel {name!r}" if isinstance(name, str) else ""
    got = err.get("input")
    secret = any(p in SECRET_FIELDS for p in loc)
    shown = "" if isinstance(got, dict | list) or secret or got is None else f" (got {got!r})"
    return f"setting '{where}'{owner}: {err['msg']}{shown}"


def parse_channels(raw: list[dict[str, Any]]) -> list[ChannelSettings]:
    """Validate channel tables, or raise ConfigError with one line per bad field."""
    try:
        channels = _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        lines = [describe_error(dict(e), raw) for e in exc.errors()]
        raise ConfigError("invalid notification channels:\n  " + "\n  ".join(lines)) from exc
    names = [c.name for c in channels]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"notification channel names must be unique; repeated: {', '.join(dup)}")
    return channels
