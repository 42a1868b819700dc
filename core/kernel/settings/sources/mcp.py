"""Settings of an ``mcp`` source: MCP servers probed with the official SDK."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from core.kernel.settings.sources.common import SourceBase

STOP_GRACE_S = 7.0  # stopping a stdio server that ignores stdin EOF and SIGTERM takes the SDK ~6 s


class ToolCall(BaseModel):
    """A harmless tool call made on every probe (optional)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)


class McpServer(BaseModel):
    """One MCP server: a command line (stdio) or a URL (streamable HTTP)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", description="Value of the server label")
    transport: Literal["stdio", "http"]
    command: list[str] | None = Field(None, description="stdio: the program and its arguments")
    env: dict[str, str] = Field(default_factory=dict, description="stdio: extra environment variables")
    url: str | None = Field(None, pattern=r"^https?://", description="http: the streamable HTTP endpoint")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="http: extra request headers (Authorization, ...); kept secret"
    )
    tool_call: ToolCall | None = None
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels (team, host, ...)")

    @model_validator(mode="after")
    def _target(self) -> McpServer:
        if self.transport == "stdio" and not self.command:
            raise ValueError(f"server {self.name!r}: transport 'stdio' needs a command")
        if self.transport == "http" and not self.url:
            raise ValueError(f"server {self.name!r}: transport 'http' needs a url")
        return self


class McpSource(SourceBase):
    """MCP servers probed on every collection: handshake, ping, tools/list and an optional tool call."""

    kind: Literal["mcp"] = "mcp"
    timeout_s: float = Field(
        10,
        gt=0,
        le=300,
        description="Seconds each probe step (initialize, ping, tools/list, tools/call) may take",
    )
    servers: list[McpServer] = Field(min_length=1)
    max_concurrency: int = Field(4, ge=1, le=64, description="Servers probed at the same time")

    @model_validator(mode="after")
    def _unique(self) -> McpSource:
        names = [s.name for s in self.servers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"server names must be unique; repeated: {', '.join(dup)}")
        return self

    @property
    def deadline_s(self) -> float:
        """Waves of probes, each up to 4 steps of ``timeout_s``, the close (an HTTP DELETE bounded by
        ``timeout_s``, or stopping a stdio child: the SDK waits 2 s after closing stdin, 2 s after
        SIGTERM, then kills) and a margin."""
        waves = -(-len(self.servers) // self.max_concurrency)
        return waves * (self.timeout_s * 5 + STOP_GRACE_S) + 5
