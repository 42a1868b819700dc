"""A real MCP server built with the official SDK (``MCPServer``), for the probe tests.

Run as ``python sdk_server.py [--http PORT] [--era dual|legacy|modern] [--slow STEP=SECONDS]``:
stdio by default, streamable HTTP on 127.0.0.1:PORT (path ``/mcp``) with ``--http``.

- ``--era legacy`` answers like a 2025-11-25 server: ``server/discover`` is an unknown method.
- ``--era modern`` answers like a 2026-07-28-only server: ``initialize`` and ``ping`` are refused.
- ``--slow tools/list=5`` makes one method that slow (``initialize``, ``ping``, ``tools/list``).

Tools: ``echo`` (harmless), ``fail`` (always an ``isError`` result), ``hold`` (sleeps, and writes
its start and end times to ``$MCP_TRACE_DIR`` so the tests can measure overlapping probes).
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import METHOD_NOT_FOUND, UNSUPPORTED_PROTOCOL_VERSION
from mcp_types.version import MODERN_PROTOCOL_VERSIONS


def build(name: str, version: str, era: str, slow: dict[str, float]) -> MCPServer:
    async def middleware(ctx: Any, call_next: Any) -> Any:
        method = ctx.method
        if era == "modern" and method in ("initialize", "ping"):
            if method == "initialize":
                requested = (ctx.params or {}).get("protocolVersion", "")
                data = {"supported": list(MODERN_PROTOCOL_VERSIONS), "requested": requested}
                raise MCPError(UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version", data)
            raise MCPError(METHOD_NOT_FOUND, "Method not found")
        if era == "legacy" and method == "server/discover":
            raise MCPError(METHOD_NOT_FOUND, "Method not found")
        if method in slow:
            await anyio.sleep(slow[method])
        return await call_next(ctx)

    mcp = MCPServer(name, version=version, middleware=[middleware], log_level="WARNING")

    @mcp.tool()
    def echo(text: str = "ok") -> str:
        """Return the text it was given."""
        return text

    @mcp.tool()
    def fail(reason: str = "broken on purpose") -> str:
        """Always fail: the result comes back with isError true."""
        raise ToolError(reason)

    @mcp.tool()
    async def hold(seconds: float = 0.3) -> str:
        """Sleep, recording when the call started and ended (in $MCP_TRACE_DIR)."""
        start = time.time()
        await anyio.sleep(seconds)
        if trace := os.environ.get("MCP_TRACE_DIR"):
            (Path(trace) / f"{uuid.uuid4().hex}.txt").write_text(f"{start} {time.time()}\n")
        return "held"

    return mcp


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--http", type=int, default=None, help="serve streamable HTTP on this loopback port")
    p.add_argument("--name", default="pulse-test-server")
    p.add_argument("--version", default="1.2.3")
    p.add_argument("--era", choices=("dual", "legacy", "modern"), default="dual")
    p.add_argument("--slow", action="append", default=[], help="METHOD=SECONDS")
    a = p.parse_args()
    slow = {k: float(v) for k, v in (s.split("=", 1) for s in a.slow)}
    mcp = build(a.name, a.version, a.era, slow)
    if a.http is None:
        mcp.run()
    else:
        mcp.run(transport="streamable-http", host="127.0.0.1", port=a.http)


if __name__ == "__main__":
    main()
