"""Files under /media/ (the CSV downloads) go only to a live Pulse session, in a real browser.

A signed-in admin clicks a CSV download and gets it; the same /media/ URL fetched without a cookie,
with a forged one, and with the admin's cookie after signing out is refused (403) with nothing of
the file. Before the guard (pages/_media_guard.py) Streamlit served it to anyone holding the URL.
The README's main command (``python -m core.cli up``) serves the guard too, and app.py served
without its ``st.App`` (as a Streamlit that no longer found it would) refuses to run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import ARGS, CHROMIUM, ROOT, free_port, idle, sign_in
from tests.pages.conftest import USERS, add_users, seed

pytestmark = pytest.mark.e2e


def _get(url: str, cookie: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _refused(url: str, cookie: str | None, csv: bytes) -> None:
    status, body = _get(url, cookie)
    assert status == 403, (status, body[:200])
    first_rows = csv.splitlines()[:2]
    assert not any(row in body for row in first_rows) and b"host" not in body and len(body) < 100, body[:200]


def test_a_csv_download_goes_only_to_a_live_session(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(server)
        sign_in(page, "admin", USERS["admin"][2])
        expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=60_000)
        button = page.get_by_test_id("stDownloadButton").first  # Health's first CSV
        button.wait_for(timeout=60_000)
        idle(page)
        with page.expect_download() as info:
            button.get_by_role("button").click()
        download = info.value
        csv = Path(download.path()).read_bytes()
        url = download.url
        assert "/media/" in url and download.suggested_filename.endswith(".csv"), url
        lines = csv.splitlines()
        assert b"host" in lines[0].split(b",") and len(lines) > 2, csv[:200]  # a table or a chart's data
        [cookie] = [c for c in context.cookies() if c["name"] == "pulse_auth"]
        mine = f"pulse_auth={cookie['value']}"

        # the signed-in browser's own cookie: the file, as downloaded
        assert _get(url, mine) == (200, csv)
        # the same URL without the session: refused, nothing of the file
        _refused(url, None, csv)
        _refused(url, "pulse_auth=forged-token; other=1", csv)
        _refused(url, f"streamlit_session=x; pulse_auth={'A' * 43}", csv)

        page.get_by_role("button", name="Sign out").click()  # ends the session on the server
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=15_000)
        deadline = time.monotonic() + 10
        while "pulse_auth" in {c["name"] for c in context.cookies()} and time.monotonic() < deadline:
            time.sleep(0.2)
        _refused(url, mine, csv)  # the cookie copied before signing out
        browser.close()


def _serve(cmd: list[str], root: Path, extra_env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``cmd`` (which serves the dashboard on ``extra_env``'s port) in its own process group
    against a new seeded store in ``root``; (process, base URL) once /_stcore/health answers."""
    url = f"sqlite:///{root}/pulse.db"
    seed(url, int(time.time() * 1000))
    add_users(url)
    env = {**os.environ, "PULSE_DATABASE_URL": url, "PULSE_DATA_DIR": str(root / "data"), **extra_env}
    env["PYTHONPATH"] = str(ROOT)
    env.pop("PULSE_ADMIN_PASSWORD", None)
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{extra_env['PORT']}"
    deadline = time.monotonic() + 90
    while _get_or_unreachable(f"{base}/_stcore/health")[0] != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise AssertionError((root / "server.log").read_text()[-2000:])
        time.sleep(0.3)
    return proc, base


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the process group started by _serve (pulse up's daemon and Streamlit included)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _get_or_unreachable(url: str) -> tuple[int, bytes]:
    try:
        return _get(url)
    except OSError:
        return 0, b""


def test_the_readme_main_command_serves_the_guard(tmp_path: Path) -> None:
    port = free_port()
    env = {"PORT": str(port), "PULSE_METRICS__PORT": str(free_port())}
    proc, base = _serve([sys.executable, "-m", "core.cli", "up", "--port", str(port)], tmp_path, env)
    try:
        status, body = _get(f"{base}/media/0123abcd.csv")
        assert status == 403 and body.startswith(b"Sign in"), (status, body)
    finally:
        _stop(proc)


# Streamlit's plain script server, as `streamlit run` would start app.py if it no longer found its
# st.App: the same Server the CLI's traditional path starts, on a loopback port.
PLAIN = """
import sys
from streamlit import config
from streamlit.web import bootstrap
config._main_script_path = sys.argv[1]
flags = {"server.port": int(sys.argv[2]), "server.address": "127.0.0.1", "server.headless": True}
bootstrap.load_config_options(flags)
bootstrap.run(sys.argv[1], False, [], flags)
"""


def test_app_py_served_without_its_st_app_refuses_to_run(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    cmd = [sys.executable, "-c", PLAIN, str(ROOT / "app.py"), str(port)]
    proc, base = _serve(cmd, tmp_path, {"PORT": str(port)})
    try:
        assert (
            _get_or_unreachable(f"{base}/media/0123abcd.csv")[0] == 404
        )  # unguarded: Streamlit's own answer
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.goto(base)
            expect(page.get_by_text("started without its download guard")).to_be_visible(timeout=60_000)
            expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
            browser.close()
    finally:
        _stop(proc)
