"""The ``mcp`` source: probes of configured MCP servers with the official SDK (stdio and streamable HTTP).

Each collection runs one event loop that probes every server, at most ``max_concurrency`` at a
time (see :mod:`collectors.mcp_probe_session` for the steps). Names follow the OpenTelemetry MCP
semantic conventions; every sample carries ``server`` plus the server's and the source's labels:

``mcp_server_up``
    1 when the handshake, the liveness round trip and tools/list answered in time, else 0.
``mcp_client_operation_duration_seconds{mcp_method_name}``
    ``initialize`` (connect included), ``ping``, ``tools/list``, ``tools/call`` (with
    ``gen_ai_tool_name``); ``server/discover`` for servers speaking only 2026-07-28, whose
    protocol has no ``ping``.
``mcp_server_tools``
    Tools the server lists (all pages).
``mcp_server_info{server_name, server_version, protocol_version}``
    1, from the handshake.
``mcp_client_probe_duration_seconds``
    The whole probe, connect to close.
``mcp_client_probe_errors_total{step}``
    Failed probes by the step that failed (connect, initialize, server/discover, ping, tools/list).
``mcp_client_tool_calls_total``, ``mcp_client_tool_errors_total`` ``{gen_ai_tool_name, mcp_method_name="tools/call"}``
    The configured tool call, and how many of those failed (``isError`` results, refusals, timeouts).
    A failing tool call does not make the server down; the text of the last failed call, its tool
    and its time stay in ``health.extra["last_tool_errors"]`` (the daemon's health report: the
    Health page and ``pulse sources test`` show it).

Some servers down: the others' samples are returned, the down ones get ``mcp_server_up 0`` and
``health.extra["partial_errors"]`` names them with the step and the reason (state "degraded").
All down: :class:`McpProbeError` (a ``CollectFailed``) lists them and carries the samples.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import anyio

from collectors.base import SourceCollector
from collectors.mcp_probe_session import ProbeResult, probe
from core.kernel.errors import CollectFailed
from core.kernel.samples import Sample, labels_of
from core.kernel.settings.sources.mcp import McpServer, McpSource

DURATION = "mcp_client_operation_duration_seconds"


class McpProbeError(CollectFailed):
    """Every configured MCP server is down; ``samples`` holds their ``mcp_server_up 0`` and the rest."""


def max_overlap(results: list[ProbeResult]) -> int:
    """The largest number of probes that were running at the same moment."""
    events = sorted([(r.started, 1) for r in results] + [(r.ended, -1) for r in results])
    best = cur = 0
    for _, delta in events:
        cur += delta
        best = max(best, cur)
    return best


class McpProbeCollector(SourceCollector[McpSource]):
    """Collector of one ``mcp`` source; ``clock`` gives the samples' time (Unix seconds)."""

    def __init__(self, cfg: McpSource, clock: Callable[[], float] = time.time) -> None:
        super().__init__(cfg)
        self._clock = clock
        self._probe_errors: Counter[tuple[str, str]] = Counter()  # (server, step) -> failures
        self._tool_calls: Counter[str] = Counter()
        self._tool_errors: Counter[str] = Counter()
        self._last_tool_errors: dict[str, dict[str, object]] = {}  # server -> tool, error, at_ms

    # -- probing --------------------------------------------------------------------------
    async def _probe_all(self) -> list[ProbeResult]:
        limit = anyio.Semaphore(self.cfg.max_concurrency)
        results: dict[str, ProbeResult] = {}

        async def one(server: McpServer) -> None:
            async with limit:
                results[server.name] = await probe(server, self.cfg.timeout_s)

        async with anyio.create_task_group() as tg:
            for server in self.cfg.servers:
                tg.start_soon(one, server)
        return [results[s.name] for s in self.cfg.servers]

    def probe_once(self) -> list[ProbeResult]:
        """Probe every server once, in a fresh event loop (collect() runs in a worker thread)."""
        return anyio.run(self._probe_all, backend="asyncio")

    # -- samples --------------------------------------------------------------------------
    def _labels(self, server: McpServer, **extra: str) -> tuple[tuple[str, str], ...]:
        return labels_of(**{**self.cfg.labels, **server.labels, **extra, "server": server.name})

    def _samples(self, r: ProbeResult, ts: int) -> list[Sample]:
        s = r.server
        out = [
            Sample("mcp_server_up", self._labels(s), ts, 1.0 if r.up else 0.0),
            Sample("mcp_client_probe_duration_seconds", self._labels(s), ts, max(r.ended - r.started, 0.0)),
        ]
        tool = s.tool_call.name if s.tool_call else ""
        for method, seconds in r.durations.items():
            extra = {"gen_ai_tool_name": tool} if method == "tools/call" else {}
            out.append(Sample(DURATION, self._labels(s, mcp_method_name=method, **extra), ts, seconds))
        if r.tools is not None:
            out.append(Sample("mcp_server_tools", self._labels(s), ts, float(r.tools)))
        if r.server_name or r.protocol_version:
            info = self._labels(
                s,
                server_name=r.server_name,
                server_version=r.server_version,
                protocol_version=r.protocol_version,
            )
            out.append(Sample("mcp_server_info", info, ts, 1.0))
        for (name, step), n in sorted(self._probe_errors.items()):
            if name == s.name:
                out.append(Sample("mcp_client_probe_errors_total", self._labels(s, step=step), ts, float(n)))
        if tool and s.name in self._tool_calls:
            call = self._labels(s, gen_ai_tool_name=tool, mcp_method_name="tools/call")
            out.append(Sample("mcp_client_tool_calls_total", call, ts, float(self._tool_calls[s.name])))
            out.append(Sample("mcp_client_tool_errors_total", call, ts, float(self._tool_errors[s.name])))
        return out

    def _count(self, r: ProbeResult) -> None:
        name = r.server.name
        if r.error is not None:
            self._probe_errors[(name, r.error.step)] += 1
        if r.server.tool_call is not None and r.up:  # the call is made once the server answered
            self._tool_calls[name] += 1
            self._tool_errors[name] += 1 if r.tool_error is not None else 0

    # -- the Collector protocol -----------------------------------------------------------
    def collect(self) -> list[Sample]:
        ts = int(self._clock() * 1000)
        results = self.probe_once()
        samples: list[Sample] = []
        for r in results:
            self._count(r)
            if r.tool_error is not None and r.server.tool_call is not None:
                self._last_tool_errors[r.server.name] = {
                    "tool": r.server.tool_call.name,
                    "error": r.tool_error,
                    "at_ms": ts,
                }
        for r in results:
            samples.extend(self._samples(r, ts))
        down = {r.server.name: str(r.error) for r in results if r.error is not None}
        self.health.extra.update(
            servers=len(results),
            servers_up=len(results) - len(down),
            max_concurrent_probes=max_overlap(results),
            tool_errors={r.server.name: r.tool_error for r in results if r.tool_error},
            last_tool_errors={name: dict(e) for name, e in self._last_tool_errors.items()},
            partial_errors={} if len(down) == len(results) else down,
        )
        if len(down) == len(results):
            listed = "; ".join(f"{name}: {reason}" for name, reason in down.items())
            raise McpProbeError(f"all {len(results)} MCP server(s) down: {listed}", samples)
        return samples
