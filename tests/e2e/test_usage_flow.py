"""The Usage page in a real browser: the chart draws, and the per-team CSV holds the user's teams only."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.e2e.conftest import ARGS, CHROMIUM, SHOTS, sign_in
from tests.pages.conftest import SERVERS, USERS

pytestmark = pytest.mark.e2e
TRACE = ".js-plotly-plot .scatterlayer .trace"


def _team_csv(page) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The per-team table's CSV: the first download button once the page has finished its run (a
    button clicked while the page still reruns may belong to a table further down)."""
    names = []
    for _ in range(5):
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
        with page.expect_download() as info:
            page.get_by_test_id("stDownloadButton").first.get_by_role("button").click()
        download = info.value
        names.append(download.suggested_filename)
        if download.suggested_filename.startswith("pulse-usage-per-team-"):
            return list(csv.DictReader(io.StringIO(Path(download.path()).read_text("utf-8"))))
        page.wait_for_timeout(1000)
    raise AssertionError(f"no per-team CSV among the downloads {names}")


@pytest.mark.parametrize(
    ("user", "teams"), [("admin", {t for _, t, *_ in SERVERS.values()}), ("lead", {"platform"})]
)
def test_usage_page_chart_and_scoped_csv(server: str, user: str, teams: set[str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1400}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{server}/usage?range=6h")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(
            timeout=90_000
        )  # a cold, busy server
        sign_in(page, user, USERS[user][2])
        page.wait_for_selector(TRACE, state="attached", timeout=60_000)
        expect(page.get_by_role("heading", name="Usage", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Take snapshot now")).to_have_count(
            1 if user == "admin" else 0
        )
        page.screenshot(path=str(SHOTS / f"usage-{user}.png"), full_page=True)
        rows = _team_csv(page)
        assert {r["team"] for r in rows} == teams
        # 0.2 cores per seeded container; no requests are seeded, so the showback (on requests) is 0
        assert all(float(r["cpu_core_hours"]) > 0 and float(r["tool_calls"]) > 0 for r in rows)
        assert all(float(r["cost"]) == 0 for r in rows)
        browser.close()
