"""Settings of a ``postgres`` source: statistics views of one PostgreSQL database."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from core.kernel.settings.sources.common import SourceBase


class PostgresSource(SourceBase):
    kind: Literal["postgres"] = "postgres"
    interval_s: float = Field(60, ge=1, le=86_400, description="Seconds between two collections")
    timeout_s: float = Field(
        10, gt=0, le=300, description="connect_timeout, and statement_timeout of each statistics query"
    )
    dsn: SecretStr = Field(description="libpq connection string or postgresql:// URL")
    statements: bool = Field(True, description="Read pg_stat_statements when the extension is installed")
    statements_limit: int = Field(50, ge=1, le=10_000, description="Top queries by total time kept")
    tables_limit: int = Field(500, ge=1, le=100_000, description="Tables and indexes read at most")

    @property
    def deadline_s(self) -> float:
        """Connect, four views of up to ``timeout_s`` each and one reconnect, with room to spare."""
        return self.timeout_s * 6 + 5

    @field_validator("dsn")
    @classmethod
    def _dsn(cls, v: SecretStr) -> SecretStr:
        text = v.get_secret_value().strip()
        if not text:
            raise ValueError("must not be empty")
        if "://" in text and not text.startswith(("postgresql://", "postgres://")):
            raise ValueError("a URL must start with postgresql://")
        return v
