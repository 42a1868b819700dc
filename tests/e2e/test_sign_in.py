"""Sign-in in a real browser: deep link, wrong password, the cookie across a reload, team scoping, sign-out.

What AppTest cannot show: the cookie components run in the browser. Starts ``streamlit run app.py``
on a free loopback port against a seeded SQLite store and drives Debian's chromium with Playwright.
Screenshots land in tests/e2e/screenshots/ (ignored by git).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import in_ci
from tests.pages.conftest import SERVERS, USERS, add_users, seed

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(__file__).with_name("screenshots")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHART = ".js-plotly-plot .scatterlayer .trace"


def _missing(reason: str) -> None:
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard on a seeded store; yields its base URL."""
    if not Path(CHROMIUM).exists():
        _missing(f"no browser at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    root = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{root}/pulse.db"
    seed(url, int(time.time() * 1000))
    add_users(url)
    port = _free_port()
    env = {**os.environ, "PULSE_DATABASE_URL": url, "PULSE_DATA_DIR": str(root / "data")}
    env.pop("PULSE_ADMIN_PASSWORD", None)
    log = (root / "streamlit.log").open("w")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start: {(root / 'streamlit.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _sign_in(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def _trace_names(page) -> set[str]:  # type: ignore[no-untyped-def]
    names = page.evaluate(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".flatMap(el => (el.data || []).map(t => t.name).filter(Boolean))"
    )
    return set(names)


def test_sign_in_cookie_scope_and_sign_out(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)

        page.goto(f"{server}/performance")  # a deep link, signed out
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        expect(page.locator(".js-plotly-plot")).to_have_count(0)
        page.screenshot(path=str(SHOTS / "sign-in.png"))

        _sign_in(page, "lead", "not-the-password")
        expect(page.get_by_text("Wrong username or password.")).to_be_visible()
        expect(page.locator(".js-plotly-plot")).to_have_count(0)

        _sign_in(page, "lead", USERS["lead"][2])
        page.wait_for_selector(CHART, timeout=60_000)
        expect(page.get_by_role("heading", name="Performance", exact=True)).to_be_visible()
        time.sleep(1)  # let the other charts draw
        page.screenshot(path=str(SHOTS / "signed-in-team-lead.png"))
        platform = {s for s, (_, team, *_) in SERVERS.items() if team == "platform"}
        servers = _trace_names(page) & set(SERVERS)
        assert servers == platform, servers
        assert "pulse_auth" in {c["name"] for c in context.cookies()}

        page.reload()  # the cookie signs the new session in
        page.wait_for_selector(CHART, timeout=60_000)
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(page.get_by_text("lead · Team lead")).to_be_visible()

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_text("You are signed out.")).to_be_visible()
        expect(page.locator(".js-plotly-plot")).to_have_count(0)
        page.screenshot(path=str(SHOTS / "signed-out.png"))
        deadline = time.monotonic() + 10
        while "pulse_auth" in {c["name"] for c in context.cookies()} and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "pulse_auth" not in {c["name"] for c in context.cookies()}
        page.reload()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        expect(page.locator(".js-plotly-plot")).to_have_count(0)
        browser.close()
