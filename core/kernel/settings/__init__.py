"""Typed settings: one object, read from a TOML file and ``PULSE_*`` environment variables.

Precedence (highest first): keyword arguments, environment (``PULSE_RETENTION__RAW_DAYS=3``),
the TOML file (``PULSE_CONFIG`` or ``pulse.toml`` in the working directory), defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from core.kernel.errors import ConfigError
from core.kernel.settings.alerting import AlertingSettings
from core.kernel.settings.api import ApiSettings
from core.kernel.settings.cluster import ClusterSettings
from core.kernel.settings.oidc import OidcSettings
from core.kernel.settings.prices import PriceSettings
from core.kernel.settings.snapshots import SnapshotSettings
from core.kernel.settings.sources import SourceSettings

DEFAULT_CONFIG_FILE = "pulse.toml"


class Section(BaseModel):
    """A ``[table]`` of the settings: an unknown key is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class RetentionSettings(Section):
    raw_days: float = Field(7, gt=0, description="Days raw samples are kept")
    minute_days: float = Field(35, gt=0, description="Days 1-minute rollups are kept")
    hour_days: float = Field(730, gt=0, description="Days 1-hour rollups are kept")


class IngestSettings(Section):
    out_of_order_window_s: int = Field(
        3600, ge=0, description="How far behind a series' newest sample a late sample is accepted"
    )
    future_tolerance_s: int = Field(600, ge=0, description="How far in the future a timestamp may lie")
    max_series_per_metric: int = Field(
        20_000, ge=1, description="Cardinality guard: series allowed per metric name"
    )
    buffer_max_samples: int = Field(
        200_000,
        ge=1000,
        description="Samples kept in memory while the database is down before spilling to disk",
    )
    chunk_seconds: int = Field(21600, ge=60, description="Span of one compressed chunk of older raw samples")


class DatabaseSettings(Section):
    """Bounds on every database call, so a frozen or locked database never blocks a thread for long."""

    connect_timeout_s: int = Field(
        5, ge=1, le=300, description="PostgreSQL: seconds a new connection may take (libpq connect_timeout)"
    )
    statement_timeout_s: float = Field(
        30, gt=0, le=86_400, description="PostgreSQL: server-side limit of one statement (statement_timeout)"
    )
    lock_timeout_s: float = Field(
        5, gt=0, le=3600, description="PostgreSQL: longest wait for a row or table lock (lock_timeout)"
    )
    io_timeout_s: float = Field(
        15,
        gt=0,
        le=86_400,
        description="PostgreSQL: a call that has not returned after this many seconds is cut on the client "
        "side (its connection closed), which bounds calls to a server that accepts but never answers",
    )
    sqlite_busy_timeout_ms: int = Field(
        5000, ge=0, le=600_000, description="SQLite: how long a statement waits for another writer's lock"
    )


class SpoolSettings(Section):
    flush_after_s: float = Field(
        2.0,
        gt=0,
        le=3600,
        description="While the database is unavailable, held samples are written (fsynced) to the spool "
        "folder within this many seconds, so a crash loses at most about this much",
    )


class DemoSettings(Section):
    seed: int = 42
    days: float = Field(7, ge=0, le=90, description="Days of history the demo backfills")
    hosts: int = Field(6, ge=1, le=200)
    teams: int = Field(4, ge=1, le=50)
    servers_per_host: int = Field(6, ge=1, le=100)
    backfill_step_s: int = Field(120, ge=15, le=3600, description="Sample spacing of the backfilled history")
    interval_s: int = Field(15, ge=1, le=3600, description="Live sample interval")


class HostSettings(Section):
    interval_s: int = Field(15, ge=1, le=3600)


class SchedulerSettings(Section):
    rollup_interval_s: int = Field(60, ge=5)
    compaction_interval_s: int = Field(900, ge=60)
    retention_interval_s: int = Field(3600, ge=60)
    misfire_grace_s: int = Field(30, ge=1)
    collector_timeout_s: float = Field(
        10.0, gt=0, description="A collect() call taking longer is recorded as hung"
    )
    backoff_max_s: float = Field(
        300, ge=1, le=86_400, description="Longest wait before retrying a collector that keeps failing"
    )
    settings_poll_s: float = Field(
        5,
        ge=0.5,
        le=3600,
        description="How often the daemon looks for settings changed in the database (Admin > Settings)",
    )


class MetricsSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(
        9464, ge=0, le=65535, description="Port of the daemon's /metrics endpoint (0 = pick a free one)"
    )


class AuthSettings(Section):
    """Dashboard sign-in: server-side sessions and the throttle of failed sign-ins (docs/security.md)."""

    cookie_name: str = Field(
        "pulse_auth",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Name of the browser cookie that carries the session token",
    )
    session_idle_minutes: int = Field(
        60, ge=1, le=720, description="A session unused for this long ends; also the cookie's lifetime"
    )
    session_absolute_hours: float = Field(
        12, gt=0, le=12, description="A session ends this long after its sign-in, however much it is used"
    )
    session_renew_minutes: int = Field(
        10, ge=1, le=720, description="While in use, the token and cookie are replaced this often"
    )
    throttle_free_failures: int = Field(
        3,
        ge=1,
        le=100,
        description="Failed sign-ins (per client, per client and account) before delays start",
    )
    throttle_max_delay_s: int = Field(
        900,
        ge=1,
        le=86_400,
        description="Longest delay a client waits after failed sign-ins (2^k s grows to it)",
    )
    throttle_account_free_failures: int = Field(
        10, ge=1, le=1000, description="Failed sign-ins of one account from all clients before delays start"
    )
    throttle_account_max_delay_s: int = Field(
        30,
        ge=1,
        le=60,
        description="Longest delay of one account from all clients (kept short: see docs/security.md)",
    )
    throttle_window_minutes: int = Field(
        60, ge=1, le=1440, description="Failed sign-ins older than this no longer count"
    )
    trust_forwarded_for: bool = Field(
        False,
        description="Take the client address from the last X-Forwarded-For entry (only behind a proxy that sets it)",
    )
    oidc: OidcSettings = Field(default_factory=lambda: OidcSettings())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PULSE_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=None,
    )

    database_url: SecretStr = Field(SecretStr("sqlite:///data/pulse.db"), description="SQLAlchemy URL")
    data_dir: Path = Path("data")
    collectors: list[str] = Field(default_factory=lambda: ["host", "demo"])
    retention: RetentionSettings = Field(default_factory=lambda: RetentionSettings())
    ingest: IngestSettings = Field(default_factory=lambda: IngestSettings())
    database: DatabaseSettings = Field(default_factory=lambda: DatabaseSettings())
    spool: SpoolSettings = Field(default_factory=lambda: SpoolSettings())
    demo: DemoSettings = Field(default_factory=lambda: DemoSettings())
    host: HostSettings = Field(default_factory=lambda: HostSettings())
    scheduler: SchedulerSettings = Field(default_factory=lambda: SchedulerSettings())
    metrics: MetricsSettings = Field(default_factory=lambda: MetricsSettings())
    auth: AuthSettings = Field(default_factory=lambda: AuthSettings())
    alerting: AlertingSettings = Field(default_factory=lambda: AlertingSettings())
    api: ApiSettings = Field(default_factory=lambda: ApiSettings())
    snapshots: SnapshotSettings = Field(default_factory=lambda: SnapshotSettings())
    prices: PriceSettings = Field(
        default_factory=lambda: PriceSettings(),
        description="Unit prices of Usage, Capacity, Optimization and the snapshots",
    )
    cluster: ClusterSettings = Field(default_factory=lambda: ClusterSettings())
    sources: list[SourceSettings] = Field(
        default_factory=list, description="Real sources ([[sources]] tables), each picked by its kind"
    )

    @field_validator("database_url")
    @classmethod
    def _url_has_scheme(cls, v: SecretStr) -> SecretStr:
        url = v.get_secret_value()
        if not url.startswith(("sqlite:", "postgresql", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return v

    @model_validator(mode="after")
    def _source_names(self) -> Settings:
        names = [s.name for s in self.sources]
        taken = set(self.collectors)
        dup = sorted({n for n in names if names.count(n) > 1 or n in taken})
        if dup:
            raise ValueError(
                f"source names must be unique and differ from the built-in collectors; repeated: {', '.join(dup)}"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = Path(os.environ.get("PULSE_CONFIG", DEFAULT_CONFIG_FILE))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def url(self) -> str:
        return self.database_url.get_secret_value()

    @property
    def snapshot_dir(self) -> Path:
        """Where snapshot files are written: ``snapshots.folder``, else ``data_dir/snapshots``."""
        return self.snapshots.folder or self.data_dir / "snapshots"


_SECRET = {
    "database_url",
    "dsn",
    "bearer_token",
    "basic_auth_password",
    "password",
    "webhook_url",
    "routing_key",
    "token",
    "headers",
    "url",  # a webhook URL may carry its token
}


def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in err["loc"]) or "settings"
    got = err.get("input")
    secret = any(part in _SECRET for part in err["loc"])  # a URL may hold a password: never echo it
    shown = "" if isinstance(got, dict) or secret else f" (got {got!r})"
    return f"setting '{where}': {err['msg']}{shown}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings or raise ConfigError with one line per bad setting."""
    env_file = os.environ.get("PULSE_CONFIG")
    if env_file and not Path(env_file).is_file():
        raise ConfigError(f"setting file PULSE_CONFIG={env_file!r} does not exist or is not a file")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [_describe(dict(e)) for e in exc.errors()]
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from exc
    except SettingsError as exc:  # a PULSE_* variable of a list or table that is not JSON
        raise ConfigError(
            f"invalid settings: {exc}; lists and tables in PULSE_* variables are JSON, "
            """e.g. PULSE_COLLECTORS='["host"]'"""
        ) from exc
    except (OSError, ValueError) as exc:  # malformed TOML surfaces as a ValueError subclass
        path = env_file or DEFAULT_CONFIG_FILE
        raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
