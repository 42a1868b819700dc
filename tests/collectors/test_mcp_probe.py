"""The ``mcp`` source against real MCP servers: the SDK's ``MCPServer`` over stdio and streamable
HTTP, a hand-written 2024-11-05 server, a 2026-07-28-only server; the Health view and the CLI.

Faults (hangs, exits, timeouts, partial failure) are in ``test_mcp_probe_faults.py``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from collectors.mcp_probe import McpProbeCollector
from tests.collectors.mcp_servers import (
    PY,
    RAW_SERVER,
    SDK_SERVER,
    http_server,
    no_leaks,
    sdk_command,
    source,
    value,
)
from tests.conftest import FakeClock


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    """Every probe ends its child processes, event loop and threads."""
    with no_leaks():
        yield


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    with http_server(SDK_SERVER) as url:
        yield url


def test_stdio_sdk_server_full_probe() -> None:
    clock = FakeClock()
    cfg = source(
        {
            "name": "files",
            "transport": "stdio",
            "command": sdk_command("--name", "files-server", "--version", "4.5.6"),
            "tool_call": {"name": "echo", "arguments": {"text": "hi"}},
            "labels": {"team": "core", "host": "h1"},
        },
        labels={"env": "test"},
    )
    c = McpProbeCollector(cfg, clock=clock)
    samples = c.collect()
    base = {"server": "files", "team": "core", "host": "h1", "env": "test"}
    assert all(s.ts == clock.ms for s in samples)
    assert all(set(base.items()) <= set(s.labels) for s in samples)
    assert value(samples, "mcp_server_up") == 1
    for method in ("initialize", "ping", "tools/list"):
        assert 0 < value(samples, "mcp_client_operation_duration_seconds", mcp_method_name=method) < 10
    call = value(
        samples,
        "mcp_client_operation_duration_seconds",
        mcp_method_name="tools/call",
        gen_ai_tool_name="echo",
    )
    assert 0 < call < 10
    assert value(samples, "mcp_server_tools") == 3
    info = value(
        samples,
        "mcp_server_info",
        server_name="files-server",
        server_version="4.5.6",
        protocol_version="2025-11-25",
    )
    assert info == 1
    assert value(samples, "mcp_client_tool_calls_total", gen_ai_tool_name="echo") == 1
    assert value(samples, "mcp_client_tool_errors_total", gen_ai_tool_name="echo") == 0
    assert c.health.state == "up" and c.health.extra["partial_errors"] == {}
    assert not [s for s in samples if s.metric == "mcp_client_probe_errors_total"]


def test_http_sdk_server_and_counters_across_collections(http_url: str) -> None:
    cfg = source({"name": "web", "transport": "http", "url": http_url, "tool_call": {"name": "fail"}})
    c = McpProbeCollector(cfg)
    first = c.collect()
    assert value(first, "mcp_server_up") == 1
    assert value(first, "mcp_server_tools") == 3
    assert (
        value(first, "mcp_server_info", protocol_version="2025-11-25", server_name="pulse-test-server") == 1
    )
    # The tool answers isError: a tool error, the server stays up and the source is not degraded.
    second = c.collect()
    assert value(second, "mcp_server_up") == 1
    assert value(second, "mcp_client_tool_calls_total", gen_ai_tool_name="fail") == 2
    assert value(second, "mcp_client_tool_errors_total", gen_ai_tool_name="fail") == 2
    assert c.health.extra["tool_errors"] == {"web": "isError: Error executing tool fail: broken on purpose"}
    assert c.health.state == "up"


def test_a_tool_calls_error_text_is_kept_in_the_daemons_report(http_url: str, tmp_path: Path) -> None:
    """Issue 15 item 19: not only the counter. The last failed call's text, tool and time reach the
    daemon's health report in the database and the Health page's collector table; the state stays up."""
    from core.kernel.settings import load_settings
    from core.runtime.daemon import report_entry
    from core.storage.repos.health_report import read_report, write_report
    from core.storage.tsdb.store import open_store
    from core.views import collectors as collectors_view

    clock = FakeClock()
    cfg = source({"name": "web", "transport": "http", "url": http_url, "tool_call": {"name": "fail"}})
    c = McpProbeCollector(cfg, clock=clock)
    c.collect()
    failed_ms = clock.ms
    c.health.success(0.1, clock.ms)
    text = "isError: Error executing tool fail: broken on purpose"
    assert c.health.extra["last_tool_errors"] == {"web": {"tool": "fail", "error": text, "at_ms": failed_ms}}
    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db"), clock=clock)
    try:
        write_report(store, {"mcp": report_entry(c.health, cfg.interval_s)}, "n1", True, clock.ms)
        report = read_report(store)
    finally:
        store.close()
    assert report["mcp"]["tool_errors"] == {"web": {"tool": "fail", "error": text, "at_ms": failed_ms}}
    row = collectors_view.collector_health(report, failed_ms + 90_000).row(0, named=True)
    assert row["state"] == "up"
    assert row["error"] == f"tool call fail on web failed 2 min ago: {text}"


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_server_speaking_only_2026_07_28_is_up(transport: str) -> None:
    """It refuses initialize (-32022) and has no ping: probed with server/discover, never down."""
    if transport == "http":
        with http_server(SDK_SERVER, "--era", "modern") as url:
            samples = McpProbeCollector(source({"name": "new", "transport": "http", "url": url})).collect()
    else:
        cmd = sdk_command("--era", "modern")
        samples = McpProbeCollector(source({"name": "new", "transport": "stdio", "command": cmd})).collect()
    assert value(samples, "mcp_server_up") == 1
    assert value(samples, "mcp_server_info", protocol_version="2026-07-28") == 1
    assert value(samples, "mcp_client_operation_duration_seconds", mcp_method_name="server/discover") > 0
    assert value(samples, "mcp_server_tools") == 3
    methods = {dict(s.labels).get("mcp_method_name") for s in samples}
    assert "ping" not in methods and "initialize" not in methods


def test_old_servers_2024_11_05_with_and_without_ping() -> None:
    cfg = source(
        {"name": "old", "transport": "stdio", "command": [PY, RAW_SERVER]},
        {"name": "old-noping", "transport": "stdio", "command": [PY, RAW_SERVER, "--no-ping"]},
        {"name": "old-2025", "transport": "stdio", "command": [PY, RAW_SERVER, "--protocol", "2025-06-18"]},
    )
    samples = McpProbeCollector(cfg).collect()
    for name, version in (("old", "2024-11-05"), ("old-noping", "2024-11-05"), ("old-2025", "2025-06-18")):
        assert value(samples, "mcp_server_up", server=name) == 1
        assert (
            value(samples, "mcp_server_info", server=name, protocol_version=version, server_name="raw-legacy")
            == 1
        )
        assert value(samples, "mcp_server_tools", server=name) == 1
    assert value(samples, "mcp_client_operation_duration_seconds", server="old", mcp_method_name="ping") > 0
    noping = [
        s for s in samples if ("server", "old-noping") in s.labels and ("mcp_method_name", "ping") in s.labels
    ]
    assert noping == []


def test_sdk_server_behaving_like_2025_11_25() -> None:
    cfg = source({"name": "legacy", "transport": "stdio", "command": sdk_command("--era", "legacy")})
    samples = McpProbeCollector(cfg).collect()
    assert value(samples, "mcp_server_up") == 1
    assert value(samples, "mcp_client_operation_duration_seconds", mcp_method_name="ping") > 0


def test_concurrency_bound_is_respected(tmp_path: Path) -> None:
    """Six servers, at most two probed at a time: measured on the servers' side (tool call spans)."""
    trace = tmp_path / "trace"
    trace.mkdir()
    servers = [
        {
            "name": f"s{i}",
            "transport": "stdio",
            "command": sdk_command(),
            "env": {"MCP_TRACE_DIR": str(trace)},
            "tool_call": {"name": "hold", "arguments": {"seconds": 1.2}},
        }
        for i in range(6)
    ]
    c = McpProbeCollector(source(*servers, max_concurrency=2))
    samples = c.collect()
    assert [value(samples, "mcp_server_up", server=f"s{i}") for i in range(6)] == [1] * 6
    spans = [tuple(map(float, f.read_text().split())) for f in trace.iterdir()]
    assert len(spans) == 6
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 2, spans  # never more than the bound, and the bound was used
    assert c.health.extra["max_concurrent_probes"] == 2


def test_real_probe_appears_on_the_health_view(tmp_path: Path) -> None:
    from core.kernel.settings import load_settings
    from core.storage.tsdb.store import open_store
    from core.views.health import server_status

    clock = FakeClock()
    cfg = source({"name": "files", "transport": "stdio", "command": sdk_command(), "labels": {"host": "h1"}})
    samples = McpProbeCollector(cfg, clock=clock).collect()
    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db"), clock=clock)
    try:
        store.write(samples)
        status = server_status(store, clock.ms + 1000)  # the view reads [at - lookback, at)
    finally:
        store.close()
    row = status.filter(pl.col("server") == "files").row(0, named=True)
    assert row["host"] == "h1" and row["up"] is True
    assert 0 < row["ping_s"] < 10 and 0 < row["tools_list_s"] < 10


def test_cli_sources_test_ok_and_failed(
    http_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from core.cli import main

    for key in [k for k in os.environ if k.startswith("PULSE_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    sources = [
        {
            "kind": "mcp",
            "name": "good",
            "servers": [
                {
                    "name": "web",
                    "transport": "http",
                    "url": http_url,
                    "headers": {"Authorization": "Bearer s3cr3t"},
                    "tool_call": {"name": "fail"},
                }
            ],
        },
        {
            "kind": "mcp",
            "name": "dead",
            "servers": [{"name": "gone", "transport": "stdio", "command": ["/nonexistent/mcp-server"]}],
        },
    ]
    monkeypatch.setenv("PULSE_SOURCES", json.dumps(sources))
    assert main(["sources", "test", "good"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^good \(mcp\): OK in [\d.]+s, \d+ samples$", out, re.M), out
    assert 'mcp_server_up{server="web"} 1' in out and "s3cr3t" not in out
    assert "  tool call fail on web failed: isError: Error executing tool fail: broken on purpose\n" in out
    assert main(["sources", "test", "dead"]) == 1
    out = capsys.readouterr().out
    assert "dead (mcp): FAILED" in out, out
    assert "gone: connect: cannot start '/nonexistent/mcp-server': No such file or directory" in out
