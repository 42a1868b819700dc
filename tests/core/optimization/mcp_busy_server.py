"""A real MCP server (the official SDK's ``MCPServer``, streamable HTTP) whose one tool is CPU-bound,
for the profiling test: under load, most of its time is in ``crunch_primes``.

Run as ``python mcp_busy_server.py PORT``; it serves ``http://127.0.0.1:PORT/mcp``.
"""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer


def crunch_primes(limit: int) -> int:
    """How many primes lie below ``limit``, by trial division: slow on purpose."""
    count = 0
    for n in range(2, limit):
        d = 2
        while d * d <= n and n % d:
            d += 1
        count += d * d > n
    return count


def main() -> None:
    mcp = MCPServer("busy-server", version="1.0.0", log_level="WARNING")

    @mcp.tool()
    def crunch(limit: int = 20_000) -> str:
        """Count the primes below ``limit`` (CPU-bound)."""
        return str(crunch_primes(limit))

    mcp.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[1]))


if __name__ == "__main__":
    main()
