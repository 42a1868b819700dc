"""The websocket client of ``bench load`` (bench/load_ws.py) against the real dashboard.

``streamlit run app.py`` on a fresh SQLite store with one user: the client must be refused with a
wrong password (the app's own check, through its sign-in form), then sign in and run two pages
over Streamlit's protocol, a switch on the open socket and a reload over a new one (the session
restored from the token cookie the app wrote), each finishing without an error element.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import stack
from bench.load_ws import WsSession

PASSWORD = "ws-client-pass-1"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("load-ws")
    env = stack.pulse_env(folder, "ws")
    stack.pulse(env, "db", "upgrade")
    stack.add_user(env, "wendy", "developer", ["payments"], PASSWORD)
    ui, base = stack.start_ui(env, folder / "ws", timeout_s=60)
    try:
        yield base
    finally:
        stack.stop(ui)


def test_a_wrong_password_is_refused(dashboard: str) -> None:
    async def attempt() -> None:
        client = WsSession(dashboard, timeout_s=30)
        try:
            await client.sign_in("wendy", "not-the-password")
        finally:
            await client.close()

    with pytest.raises(PermissionError, match="Wrong username or password"):
        asyncio.run(attempt())


def test_signs_in_and_runs_pages_without_errors(dashboard: str) -> None:
    async def walk() -> list[tuple[str, list[str], list[str]]]:
        client = WsSession(dashboard, timeout_s=30)
        try:
            health = await client.sign_in("wendy", PASSWORD)
            assert client.cookies.get("pulse_auth"), "the app's token cookie was not read"
            switched = await client.rerun("performance")  # a sidebar click: the same socket
            reloaded = await client.open("alerts")  # F5: a new socket, signed in by the cookie
        finally:
            await client.close()
        return [
            (n, r.headings, r.errors)
            for n, r in (("health", health), ("performance", switched), ("alerts", reloaded))
        ]

    for name, headings, errors in asyncio.run(walk()):
        assert not errors, f"{name}: {errors}"
        assert name.capitalize() in headings, f"{name}: headings {headings}"
