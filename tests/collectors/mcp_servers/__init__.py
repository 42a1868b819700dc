"""Real MCP servers for the probe tests, and helpers to start them.

- ``sdk_server.py``: the official SDK's ``MCPServer`` (stdio, or streamable HTTP with ``--http``),
  dual-era by default, or behaving like a 2025-11-25 (``--era legacy``) or a 2026-07-28-only
  (``--era modern``) server; ``--slow METHOD=SECONDS`` makes one method slow.
- ``raw_server.py``: a hand-written stdio server speaking only 2024-11-05 (optionally no ``ping``).
- ``hang.py``: a stdio server that never answers and ignores SIGTERM and stdin closing.
- ``hang_http.py``: an HTTP endpoint that accepts connections and never answers.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from core.kernel.samples import Sample
from core.kernel.settings.sources.mcp import McpSource

HERE = Path(__file__).resolve().parent
PY = sys.executable
SDK_SERVER = str(HERE / "sdk_server.py")
RAW_SERVER = str(HERE / "raw_server.py")
HANG = str(HERE / "hang.py")
HANG_HTTP = str(HERE / "hang_http.py")


def source(*servers: dict[str, Any], **kw: Any) -> McpSource:
    """An ``mcp`` source named "mcp" probing ``servers`` (10 s per step unless ``timeout_s=``)."""
    return McpSource.model_validate({"name": "mcp", "timeout_s": 10, "servers": list(servers), **kw})


def value(samples: list[Sample], metric: str, **labels: str) -> float:
    """The value of the one sample of ``metric`` whose labels include ``labels``."""
    hits = [s.value for s in samples if s.metric == metric and set(labels.items()) <= set(s.labels)]
    assert len(hits) == 1, (metric, labels, hits)
    return hits[0]


def sdk_command(*args: str) -> list[str]:
    return [PY, SDK_SERVER, *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(proc: subprocess.Popen[bytes], port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the test server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the test server did not listen on 127.0.0.1:{port} within {timeout_s:g}s")


@contextmanager
def http_server(script: str, *args: str) -> Iterator[str]:
    """Run ``script`` as a subprocess on a free loopback port; yields the MCP endpoint URL."""
    port = free_port()
    cmd = [PY, script, *(["--http", str(port)] if script == SDK_SERVER else [str(port)]), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(proc, port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextmanager
def no_leaks() -> Iterator[None]:
    """Assert the block leaves no child process (after 5 s of grace) and no extra thread behind."""
    me = psutil.Process()
    kids_before = {p.pid for p in me.children(recursive=True)}
    threads_before = threading.active_count()
    yield
    new = [p for p in me.children(recursive=True) if p.pid not in kids_before]
    _, alive = psutil.wait_procs(new, timeout=5)
    assert not alive, f"leaked child processes: {[p.pid for p in alive]}"
    assert threading.active_count() <= threads_before, threading.enumerate()
