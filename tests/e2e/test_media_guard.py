"""Files under /media/ (the CSV downloads) go only to a live Pulse session, in a real browser.

A signed-in admin clicks a CSV download and gets it; the same /media/ URL fetched without a cookie,
with a forged one, and with the admin's cookie after signing out is refused (403) with nothing of
the file. Before the guard (pages/_media_guard.py) Streamlit served it to anyone holding the URL.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import ARGS, CHROMIUM, idle, sign_in
from tests.pages.conftest import USERS

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
