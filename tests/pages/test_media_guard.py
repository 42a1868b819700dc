"""pages/_media_guard.py without a browser: the middleware in front of a stand-in /media/ route,
deciding on real sessions (SQLite and PostgreSQL). The browser test is tests/e2e/test_media_guard.py."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from core.access import accounts
from core.kernel.settings import AuthSettings, Settings
from core.seam.signin import SignIn
from core.storage.repos.users import UserRepo
from core.storage.tsdb.store import Store
from pages._media_guard import HEADER, REFUSED, MediaGuard, holder
from tests.conftest import FakeClock

CSV = b"host,cpu\ngpu-1,0.95\n"


async def _file(request: Request) -> Response:
    return Response(CSV, media_type="text/csv")


async def _page(request: Request) -> Response:
    return PlainTextResponse("page")


async def _socket(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_json([v for k, v in ws.headers.items() if k == HEADER])
    await ws.close()


ROUTES = [
    Route("/media/{file_id:path}", _file),
    Route("/pulse/media/{file_id:path}", _file),  # server.baseUrlPath = "pulse"
    Route("/health", _page),
    WebSocketRoute("/_stcore/stream", _socket),
]


@pytest.fixture
def signin(store: Store, clock: FakeClock) -> SignIn:
    UserRepo(store.engine).add(
        username="ops", password_hash=accounts.hash_password("ops-pass-12", rounds=4), role="admin", now_ms=0
    )
    settings = Settings(auth=AuthSettings(session_idle_minutes=60, session_renew_minutes=10))
    return SignIn(store.engine, settings, clock)


@pytest.fixture
def client(signin: SignIn) -> TestClient:
    def who(cookies: Mapping[str, str]):  # type: ignore[no-untyped-def]
        return holder(cookies, signin)

    return TestClient(MediaGuard(Starlette(routes=ROUTES), who=who))


def _token(signin: SignIn) -> str:
    live = signin.sessions.start("ops", "ip:10.0.0.1")
    assert live is not None and live.token
    return live.token


def _refused(client: TestClient, path: str, cookie: str | None) -> None:
    r = client.get(path, headers={"Cookie": cookie} if cookie else {})
    assert r.status_code == 403 and r.content == REFUSED.encode() and b"gpu-1" not in r.content


def test_a_live_session_gets_the_file_and_nothing_else_does(signin: SignIn, client: TestClient) -> None:
    token = _token(signin)
    ok = client.get("/media/abc.csv", headers={"Cookie": f"theme=dark; pulse_auth={token}"})
    assert ok.status_code == 200 and ok.content == CSV
    assert client.get("/pulse/media/abc.csv", headers={"Cookie": f"pulse_auth={token}"}).content == CSV
    for cookie in (None, "pulse_auth=", "pulse_auth=forged", f"other_app={token}", f"pulse_auth={token}x"):
        _refused(client, "/media/abc.csv", cookie)
    _refused(client, "/pulse/media/abc.csv", None)
    assert client.head("/media/abc.csv").status_code == 403
    assert client.get("/health").text == "page"  # other routes are not the guard's business


def test_an_ended_or_expired_session_is_refused(signin: SignIn, client: TestClient, clock: FakeClock) -> None:
    token = _token(signin)
    found = signin.restore(token)
    assert found is not None
    signin.sign_out(found.live.session.id)
    _refused(client, "/media/abc.csv", f"pulse_auth={token}")

    idle = _token(signin)
    clock.advance(61 * 60)  # past the idle timeout
    _refused(client, "/media/abc.csv", f"pulse_auth={idle}")


def test_the_check_rotates_nothing_so_the_browser_cookie_stays_valid(
    signin: SignIn, client: TestClient, clock: FakeClock
) -> None:
    token = _token(signin)
    clock.advance(11 * 60)  # a page run now would rotate the token (every 10 min)
    assert client.get("/media/abc.csv", headers={"Cookie": f"pulse_auth={token}"}).status_code == 200
    assert signin.holder(token) is not None  # the same token still works: nothing was rotated
    restored = signin.restore(token)  # the next page run rotates it, and the old token ends
    assert restored is not None and restored.live.token and restored.live.token != token
    _refused(client, "/media/abc.csv", f"pulse_auth={token}")


def test_a_failing_store_refuses(caplog: pytest.LogCaptureFixture) -> None:
    def broken(cookies: Mapping[str, str]) -> None:
        raise RuntimeError("database is locked")

    client = TestClient(MediaGuard(Starlette(routes=ROUTES), who=broken))
    with caplog.at_level(logging.ERROR, logger="pages._media_guard"):
        _refused(client, "/media/abc.csv", "pulse_auth=whatever")
    assert "could not check the session" in caplog.text


def test_websockets_are_marked_as_guarded_and_a_forged_mark_is_dropped(client: TestClient) -> None:
    with client.websocket_connect("/_stcore/stream", headers={HEADER: "forged"}) as ws:
        assert ws.receive_json() == ["on"]
