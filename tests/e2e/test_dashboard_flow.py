"""The dashboard in a real browser: sign in, a chart, the time range in the URL, a CSV, sign out.

Runs ``streamlit run app.py`` on the seeded store of tests/e2e/conftest.py and drives Debian's
chromium. Screenshots land in tests/e2e/screenshots/ (ignored by git).
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from core.kernel.settings import load_settings
from core.storage.repos.health_report import HEALTH_KEY
from core.storage.tsdb import open_store
from tests.e2e.conftest import ARGS, CHROMIUM, SHOTS, sign_in
from tests.pages.conftest import HOSTS, USERS

pytestmark = pytest.mark.e2e
POINT = ".js-plotly-plot .scatterlayer .point, .js-plotly-plot .scatterlayer .trace path.js-line"
CAPTION = "[data-testid='stCaptionContainer']"


def _publish_collectors(url: str) -> None:
    """What a running `pulse collect` leaves in the store: one collector up, one failing."""
    store = open_store(load_settings(database_url=url))
    now = store.now_ms()
    report = {
        "host": {
            "state": "up",
            "last_error": None,
            "last_success_ms": now - 4_000,
            "last_duration_s": 0.02,
            "interval_s": 15,
        },
        "prometheus": {
            "state": "degraded",
            "last_error": "ConnectError: connection refused",
            "last_success_ms": now - 50_000,
            "last_duration_s": 2.0,
            "interval_s": 30,
        },
    }
    store.set_meta(HEALTH_KEY, json.dumps(report))
    store.close()


def _range_caption(page) -> str:  # type: ignore[no-untyped-def]
    """The freshness caption of the page ("Last hour: ... to ... · one point per ...")."""
    return str(
        page.locator(CAPTION).filter(has_text=" to ").filter(has_text="one point per").first.inner_text()
    )


def test_sign_in_chart_time_range_csv_and_sign_out(server: str, e2e_store: tuple[Path, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    _publish_collectors(e2e_store[1])
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(30_000)

        page.goto(server)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)  # a cold server
        sign_in(page, "admin", USERS["admin"][2])
        page.wait_for_selector(POINT, state="attached", timeout=60_000)
        expect(page.get_by_role("heading", name="Health", exact=True)).to_be_visible()
        caption = _range_caption(page)
        assert caption.startswith("Last hour:"), caption
        time.sleep(1)  # let the other charts draw
        page.screenshot(path=str(SHOTS / "flow-health-1h.png"))
        page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "flow-health-charts.png"))
        collectors = page.get_by_role("heading", name="Collectors and sources")
        collectors.scroll_into_view_if_needed()
        expect(collectors).to_be_visible()
        page.screenshot(path=str(SHOTS / "flow-health-collectors.png"))

        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_test_id("stSelectbox").filter(has_text="Time range").click()
        page.get_by_role("option", name="Last 24 hours").click()
        page.wait_for_function("() => location.search.includes('range=24h')")
        expect(page.locator(CAPTION).filter(has_text="Last 24 hours:")).to_be_visible()
        assert parse_qs(urlparse(page.url).query)["range"] == ["24h"]
        caption_24h = _range_caption(page)
        assert caption_24h.startswith("Last 24 hours:") and caption_24h != caption, caption_24h
        page.wait_for_selector(POINT, state="attached")
        time.sleep(1)
        page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "flow-health-24h.png"))

        hosts_csv = page.get_by_test_id("stDownloadButton").first  # under the Hosts table
        with page.expect_download() as info:
            hosts_csv.get_by_role("button").click()
        download = info.value
        assert download.suggested_filename.startswith("pulse-health-hosts-")
        assert download.suggested_filename.endswith(".csv")
        rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text("utf-8"))))
        assert {"host", "status", "reason", "cpu", "memory", "disk"} <= set(rows[0])
        assert sorted(r["host"] for r in rows) == sorted(HOSTS)
        gpu = next(r for r in rows if r["host"] == "gpu-1")
        assert gpu["status"] == "critical" and float(gpu["cpu"]) > 0.9

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=15_000)
        expect(page.get_by_label("Username")).to_be_visible()
        expect(page.locator(".js-plotly-plot .trace")).to_have_count(0)  # no chart with data
        page.screenshot(path=str(SHOTS / "flow-signed-out.png"))
        browser.close()
