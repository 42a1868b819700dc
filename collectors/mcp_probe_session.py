"""One probe of one MCP server with the official SDK: connect, handshake, ping, tools/list, a tool call.

Every step runs under its own timeout and a failure names the step it happened in. The handshake
is the ``initialize`` of protocol revisions up to 2025-11-25 (the server may answer with any
older revision it speaks); a server that only speaks 2026-07-28 refuses it with -32022 and is
then probed with ``server/discover`` instead. That revision has no ``ping``: its liveness round
trip is the discover call itself, so such a server is never reported down for lacking ``ping``.

A stdio server is a child process: the SDK closes its stdin, then terminates and finally kills
its process tree when the probe ends, including after a timeout. Its stderr is kept in a
temporary file and its last lines are quoted when the probe fails.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CONNECTION_CLOSED,
    METHOD_NOT_FOUND,
    UNSUPPORTED_PROTOCOL_VERSION,
    CallToolResult,
    PaginatedRequestParams,
)

from core.kernel.settings.sources.mcp import McpServer

T = TypeVar("T")
MAX_TOOL_PAGES = 50  # a server paging tools/list forever is cut off here (still counted)
STDERR_TAIL_CHARS = 300


class _ModernOnly(Exception):
    """The server refused ``initialize`` with -32022: it speaks only the 2026-07-28 protocol."""


class StepFailed(Exception):
    """A probe step failed; ``str()`` is the reason, ``step`` the step's name."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step, self.reason = step, reason


@dataclass
class ProbeResult:
    """What one probe of one server found. ``error`` is None when the server is up."""

    server: McpServer
    durations: dict[str, float] = field(default_factory=dict)  # mcp_method_name -> seconds
    error: StepFailed | None = None
    server_name: str = ""
    server_version: str = ""
    protocol_version: str = ""
    tools: int | None = None
    tool_error: str | None = None  # the configured tool call failed (isError, refused or timed out)
    started: float = 0.0  # time.monotonic() at start and end of the probe (overlap accounting)
    ended: float = 0.0

    @property
    def up(self) -> bool:
        return self.error is None


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]


def _describe(exc: BaseException) -> str:
    """A one-line reason from an SDK, transport or OS error."""
    if isinstance(exc, MCPError):
        return f"error {exc.code}: {exc.message}"
    if isinstance(exc, httpx2.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url}"
    if isinstance(exc, httpx2.ConnectError):
        return f"cannot connect: {exc}"
    if isinstance(exc, httpx2.TimeoutException):
        return f"HTTP timeout: {type(exc).__name__}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _stderr_tail(errlog: IO[str] | None) -> str:
    if errlog is None:
        return ""
    try:
        errlog.flush()
        errlog.seek(0)
        lines = [ln.strip() for ln in errlog.read().splitlines() if ln.strip()]
    except (OSError, ValueError):
        return ""
    tail = " | ".join(lines[-3:])
    return tail[-STDERR_TAIL_CHARS:]


class _Probe:
    def __init__(self, server: McpServer, timeout_s: float) -> None:
        self.server, self.timeout_s = server, timeout_s
        self.result = ProbeResult(server)
        self.step = "connect"
        self.errlog: IO[str] | None = None
        self.stderr = ""  # the last lines a stdio server wrote to stderr, read once it stopped

    async def timed(self, step: str, method: str | None, fn: Callable[[], Awaitable[T]]) -> T:
        """Run one step under the per-step timeout; record its duration under ``method``."""
        self.step = step
        t0 = time.perf_counter()
        try:
            with anyio.fail_after(self.timeout_s):
                value = await fn()
        except TimeoutError:
            raise StepFailed(step, f"no answer within {self.timeout_s:g}s") from None
        if method is not None:
            self.result.durations[method] = time.perf_counter() - t0
        return value

    @asynccontextmanager
    async def transport(self) -> AsyncIterator[Any]:
        s = self.server
        if s.transport == "stdio":
            assert s.command
            params = StdioServerParameters(command=s.command[0], args=s.command[1:], env=s.env or None)
            with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
                self.errlog = errlog
                try:
                    async with stdio_client(params, errlog=errlog) as streams:
                        yield streams
                except OSError as exc:
                    if self.step != "connect":
                        raise
                    raise StepFailed(
                        "connect",
                        f"cannot start {s.command[0]!r}: {exc.strerror or exc} (is it installed and on PATH?)",
                    ) from exc
                finally:
                    self.stderr = _stderr_tail(errlog)
        else:
            assert s.url
            headers = {k: v.get_secret_value() for k, v in s.headers.items()}
            client = create_mcp_http_client(headers=headers, timeout=httpx2.Timeout(self.timeout_s + 1))
            async with client, streamable_http_client(s.url, http_client=client) as streams:
                yield streams

    async def run(self) -> ProbeResult:
        r = self.result
        r.started = time.monotonic()
        try:
            try:
                await self.session(modern=False)
            except BaseException as exc:
                if not any(isinstance(e, _ModernOnly) for e in _leaves(exc)):
                    raise
                # A new connection: a server may lock a connection to the era of its first request.
                r.durations.clear()
                await self.session(modern=True)
        except BaseException as exc:  # groups from the SDK's task groups; cancellation re-raised
            r.error = self.failure(exc)
        r.ended = time.monotonic()
        return r

    async def session(self, modern: bool) -> None:
        self.step, self.stderr = "connect", ""
        t0 = time.perf_counter()
        async with self.transport() as (read, write), ClientSession(read, write) as session:
            await self.handshake(session, t0, modern)
            await self.liveness(session)
            await self.tool_call(session)

    def failure(self, exc: BaseException) -> StepFailed:
        leaves = _leaves(exc)
        for leaf in leaves:
            if isinstance(leaf, StepFailed):
                return leaf
        real = [e for e in leaves if isinstance(e, Exception)]
        if not real:
            raise exc  # only cancellation: not ours to swallow
        reason = _describe(real[0])
        if isinstance(real[0], MCPError) and real[0].code == CONNECTION_CLOSED:
            reason = "the server closed the connection" + (" (its process exited)" if self.errlog else "")
        if self.stderr:
            reason = f"{reason}; stderr: {self.stderr}"
        return StepFailed(self.step, reason)

    async def handshake(self, session: ClientSession, t0: float, modern: bool) -> None:
        """``initialize`` (revisions up to 2025-11-25), or ``server/discover`` for a server that
        refused it with -32022 (2026-07-28 only: discover is then also the liveness round trip)."""
        r = self.result
        self.step = method = "server/discover" if modern else "initialize"
        try:
            with anyio.fail_after(self.timeout_s):
                await (session.discover() if modern else session.initialize())
        except TimeoutError:
            raise StepFailed(method, f"no answer within {self.timeout_s:g}s") from None
        except MCPError as exc:
            if exc.code == UNSUPPORTED_PROTOCOL_VERSION and not modern:
                raise _ModernOnly from exc
            raise
        r.durations[method] = time.perf_counter() - t0
        r.protocol_version = session.protocol_version or ""
        if info := session.server_info:
            r.server_name, r.server_version = info.name, info.version or ""

    async def liveness(self, session: ClientSession) -> None:
        r = self.result
        if session.initialize_result is not None:
            try:
                await self.timed("ping", "ping", session.send_ping)
            except MCPError as exc:
                if exc.code != METHOD_NOT_FOUND:  # a server without ping answered: it is alive
                    raise
        caps = session.server_capabilities
        if caps is not None and caps.tools is None:
            return  # the server offers no tools: nothing to list
        r.tools = await self.timed("tools/list", "tools/list", lambda: self.count_tools(session))

    async def count_tools(self, session: ClientSession) -> int:
        page = await session.list_tools()
        count = len(page.tools)
        for _ in range(MAX_TOOL_PAGES):
            if not page.next_cursor:
                break
            page = await session.list_tools(params=PaginatedRequestParams(cursor=page.next_cursor))
            count += len(page.tools)
        return count

    async def tool_call(self, session: ClientSession) -> None:
        call = self.server.tool_call
        if call is None:
            return
        r = self.result
        try:
            result = await self.timed(
                "tools/call", "tools/call", lambda: session.call_tool(call.name, call.arguments)
            )
        except StepFailed as exc:
            r.tool_error = str(exc)
            return
        except Exception as exc:  # refused (unknown tool, bad arguments) or an invalid result
            r.tool_error = _describe(exc)
            return
        if isinstance(result, CallToolResult) and result.is_error:
            texts = [getattr(c, "text", "") for c in result.content]
            detail = " ".join(t for t in texts if t).strip()[:200]
            r.tool_error = f"isError: {detail}" if detail else "isError"


async def probe(server: McpServer, timeout_s: float) -> ProbeResult:
    """Probe one server; never raises except for cancellation."""
    return await _Probe(server, timeout_s).run()
