"""``bench load --ui-processes 2``'s proxy (bench/load_proxy.py): two real dashboards behind HAProxy.

Two websocket clients (bench/load_ws.py) sign in through the proxy: HAProxy gives each a sticky
cookie naming a different dashboard process (round robin), and each one's page runs, websocket
included, go through the proxy without errors.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import load_proxy, stack
from bench.load_ws import WsSession
from tests.conftest import in_ci

PASSWORD = "proxy-pass-1"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")):
        if in_ci():
            pytest.fail("haproxy is required in CI (Debian package haproxy)", pytrace=False)
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    folder: Path = tmp_path_factory.mktemp("load-proxy")
    env = stack.pulse_env(folder, "p")
    stack.pulse(env, "db", "upgrade")
    for name in ("pia", "paul"):
        stack.add_user(env, name, "admin", [], PASSWORD)
    procs = []
    try:
        for i in (1, 2):
            (folder / f"ui{i}").mkdir()
            procs.append(stack.start_ui(env, folder / f"ui{i}", timeout_s=60))
        proxy, base = load_proxy.start(folder, [b.removeprefix("http://") for _, b in procs])
        try:
            yield base
        finally:
            stack.stop(proxy)
    finally:
        for proc, _ in procs:
            stack.stop(proc)


def test_each_session_sticks_to_one_process_through_the_proxy(proxied: str) -> None:
    async def two() -> list[tuple[str, list[str], list[str]]]:
        out = []
        for name in ("pia", "paul"):
            client = WsSession(proxied, timeout_s=30)
            try:
                await client.sign_in(name, PASSWORD)
                run = await client.open("incidents")  # a reload: the HTML and a new socket
                out.append((client.cookies.get("PULSE_UI", ""), run.headings, run.errors))
            finally:
                await client.close()
        return out

    (ui_a, headings_a, errors_a), (ui_b, headings_b, errors_b) = asyncio.run(two())
    assert {ui_a, ui_b} == {"ui1", "ui2"}, "HAProxy's round robin with a sticky cookie per session"
    assert not errors_a and not errors_b, (errors_a, errors_b)
    assert "Incidents" in headings_a and "Incidents" in headings_b
