"""A hand-written MCP server over stdio (no SDK), like older servers in the wild.

It speaks only the protocol revision given with ``--protocol`` (default 2024-11-05), answers
``initialize``, ``tools/list`` and ``tools/call`` (one tool, ``echo``), and ``ping`` unless
``--no-ping``; any other method is "method not found" (-32601).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

TOOL = {"name": "echo", "description": "Return the text", "inputSchema": {"type": "object"}}


def answer(msg: dict[str, Any], a: argparse.Namespace) -> dict[str, Any] | None:
    method, rid = msg.get("method"), msg.get("id")
    if rid is None:
        return None  # a notification (notifications/initialized, cancelled)
    if method == "initialize":
        result: dict[str, Any] = {
            "protocolVersion": a.protocol,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "raw-legacy", "version": "0.9"},
        }
    elif method == "ping" and not a.no_ping:
        result = {}
    elif method == "tools/list":
        result = {"tools": [TOOL]}
    elif method == "tools/call":
        text = (msg.get("params") or {}).get("arguments", {}).get("text", "ok")
        result = {"content": [{"type": "text", "text": str(text)}], "isError": False}
    else:
        return {
            "jsonrpc": "2.0",
            "id": rid,
            "error": {"code": -32601, "message": f"Method not found: {method}"},
        }
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--protocol", default="2024-11-05")
    p.add_argument("--no-ping", action="store_true")
    a = p.parse_args()
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = answer(json.loads(line), a)
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
