"""The ``mcp`` source when servers misbehave: hang, exit at once, do not exist, are slow on one step,
fail a tool call; some or all of them down. Every server here is real (see ``mcp_servers/``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from collectors.mcp_probe import McpProbeCollector, McpProbeError
from core.kernel.errors import CollectorError
from tests.collectors.mcp_servers import (
    HANG,
    HANG_HTTP,
    PY,
    SDK_SERVER,
    free_port,
    http_server,
    no_leaks,
    sdk_command,
    source,
    value,
)


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    with no_leaks():
        yield


def down_reason(cfg_servers: list[dict[str, object]], timeout_s: float = 10) -> tuple[str, McpProbeError]:
    c = McpProbeCollector(source(*cfg_servers, timeout_s=timeout_s))
    with pytest.raises(McpProbeError) as info:
        c.collect()
    return str(info.value), info.value


def test_stdio_server_that_hangs_is_killed(tmp_path: Path) -> None:
    """It never answers and ignores stdin closing and SIGTERM: the step times out, the SDK kills it."""
    pid_file = tmp_path / "pid"
    server = {
        "name": "stuck",
        "transport": "stdio",
        "command": [PY, HANG],
        "env": {"MCP_PID_FILE": str(pid_file)},
    }
    t0 = time.monotonic()
    message, exc = down_reason([server], timeout_s=1)
    took = time.monotonic() - t0
    assert message == "all 1 MCP server(s) down: stuck: initialize: no answer within 1s"
    assert took < 1 + 7 + 2, took  # the step, then stdin EOF (2 s), SIGTERM (2 s), SIGKILL
    pid = int(pid_file.read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert value(exc.samples, "mcp_server_up", server="stuck") == 0


def test_http_endpoint_that_hangs() -> None:
    with http_server(HANG_HTTP) as url:
        t0 = time.monotonic()
        message, _ = down_reason([{"name": "stuck", "transport": "http", "url": url}], timeout_s=1)
        took = time.monotonic() - t0
    assert message.endswith("stuck: initialize: no answer within 1s"), message
    assert took < 4, took


def test_stdio_server_that_exits_at_once_quotes_its_stderr() -> None:
    crash = [PY, "-c", "import sys; print('config error: no TOKEN set', file=sys.stderr); sys.exit(3)"]
    message, _ = down_reason([{"name": "crash", "transport": "stdio", "command": crash}])
    assert "crash: initialize: the server closed the connection (its process exited)" in message
    assert "stderr: config error: no TOKEN set" in message


def test_missing_command_is_a_clear_connect_error() -> None:
    message, _ = down_reason(
        [{"name": "typo", "transport": "stdio", "command": ["mcp-server-that-is-not-installed"]}]
    )
    assert message.endswith(
        "typo: connect: cannot start 'mcp-server-that-is-not-installed': No such file or directory"
        " (is it installed and on PATH?)"
    ), message


def test_http_nothing_listening() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    message, _ = down_reason([{"name": "gone", "transport": "http", "url": url}])
    assert "gone: initialize: cannot connect: " in message, message


def test_http_wrong_path_names_the_status() -> None:
    with http_server(SDK_SERVER) as url:
        message, _ = down_reason([{"name": "typo", "transport": "http", "url": url + "-nope"}])
    assert message.endswith("typo: initialize: error -32601: Not Found"), message  # the SDK maps HTTP 404


@pytest.mark.parametrize("step", ["initialize", "ping", "tools/list"])
def test_slow_step_times_out_and_is_named(step: str) -> None:
    with http_server(SDK_SERVER, "--slow", f"{step}=30") as url:
        c = McpProbeCollector(source({"name": "slow", "transport": "http", "url": url}, timeout_s=1.5))
        t0 = time.monotonic()
        with pytest.raises(McpProbeError, match=f"slow: {step}: no answer within 1.5s") as info:
            c.collect()
        assert time.monotonic() - t0 < 1.5 + 3
    samples = info.value.samples
    assert value(samples, "mcp_server_up") == 0
    assert value(samples, "mcp_client_probe_errors_total", step=step) == 1
    done = {
        dict(s.labels)["mcp_method_name"]
        for s in samples
        if s.metric == "mcp_client_operation_duration_seconds"
    }
    order = ["initialize", "ping", "tools/list"]
    assert done == set(order[: order.index(step)])  # the steps before the slow one were measured


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (
            {"name": "fail", "arguments": {"reason": "disk full"}},
            "isError: Error executing tool fail: disk full",
        ),
        ({"name": "hold", "arguments": {"seconds": 30}}, "tools/call: no answer within 2s"),
        ({"name": "no_such_tool"}, "no_such_tool"),
    ],
)
def test_failing_tool_call_is_a_tool_error_not_a_down_server(call: dict[str, object], reason: str) -> None:
    with http_server(SDK_SERVER) as url:
        c = McpProbeCollector(
            source({"name": "tools", "transport": "http", "url": url, "tool_call": call}, timeout_s=2)
        )
        samples = c.collect()
    tool = str(call["name"])
    assert value(samples, "mcp_server_up") == 1
    assert value(samples, "mcp_client_tool_calls_total", gen_ai_tool_name=tool) == 1
    assert value(samples, "mcp_client_tool_errors_total", gen_ai_tool_name=tool) == 1
    assert reason in c.health.extra["tool_errors"]["tools"]
    assert c.health.state == "up"


def test_one_server_down_does_not_affect_the_others() -> None:
    """Two healthy servers beside a hanging one, a crashing one, a missing one: degraded, not down."""
    with http_server(SDK_SERVER) as good_url, http_server(HANG_HTTP) as hang_url:
        servers = [
            {"name": "good-http", "transport": "http", "url": good_url},
            {"name": "good-stdio", "transport": "stdio", "command": sdk_command()},
            {"name": "hangs", "transport": "http", "url": hang_url},
            {"name": "crashes", "transport": "stdio", "command": [PY, "-c", "raise SystemExit(1)"]},
            {"name": "missing", "transport": "stdio", "command": ["/no/such/mcp"]},
        ]
        c = McpProbeCollector(source(*servers, timeout_s=5, max_concurrency=5))
        samples = c.collect()
    for name in ("good-http", "good-stdio"):
        assert value(samples, "mcp_server_up", server=name) == 1
        assert value(samples, "mcp_server_tools", server=name) == 3
        assert (
            value(samples, "mcp_client_operation_duration_seconds", server=name, mcp_method_name="ping") < 1
        )
    for name in ("hangs", "crashes", "missing"):
        assert value(samples, "mcp_server_up", server=name) == 0
    partial = c.health.extra["partial_errors"]
    assert sorted(partial) == ["crashes", "hangs", "missing"]
    assert partial["hangs"] == "initialize: no answer within 5s"
    assert partial["missing"].startswith("connect: cannot start '/no/such/mcp'")
    assert partial["crashes"].startswith("initialize: the server closed the connection")
    assert c.health.state == "degraded"
    assert c.health.extra["servers_up"] == 2 and c.health.extra["servers"] == 5


def test_all_down_raises_a_collector_error_that_carries_the_samples() -> None:
    servers = [
        {"name": "a", "transport": "stdio", "command": ["/no/such/mcp-a"]},
        {"name": "b", "transport": "http", "url": f"http://127.0.0.1:{free_port()}/mcp"},
    ]
    c = McpProbeCollector(source(*servers))
    with pytest.raises(CollectorError) as info:
        c.collect()
    assert isinstance(info.value, McpProbeError)
    assert str(info.value).startswith("all 2 MCP server(s) down: a: connect: cannot start '/no/such/mcp-a'")
    assert "; b: initialize: cannot connect" in str(info.value)
    assert value(info.value.samples, "mcp_server_up", server="a") == 0
    assert value(info.value.samples, "mcp_server_up", server="b") == 0
    assert value(info.value.samples, "mcp_client_probe_errors_total", server="a", step="connect") == 1


def test_deadline_covers_the_worst_case() -> None:
    cfg = source(*[{"name": f"s{i}", "transport": "stdio", "command": ["x"]} for i in range(5)], timeout_s=2)
    # two waves of 4 steps of 2 s, a close (a stdio kill: ~6 s) each, and a margin
    assert McpProbeCollector(cfg).deadline_s == cfg.deadline_s == 2 * (2 * 5 + 7) + 5


def test_http_headers_are_secret() -> None:
    cfg = source(
        {"name": "w", "transport": "http", "url": "http://x/mcp", "headers": {"Authorization": "Bearer t0k"}}
    )
    assert "t0k" not in repr(cfg) and "t0k" not in cfg.model_dump_json()
