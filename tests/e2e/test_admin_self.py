"""The Self-monitoring page in chromium: an admin opens it by its URL, sees the CPU chart with the
budget line and the scheduler, asks for a job run; a screenshot for the user guide."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.storage.repos.job_requests import JobRequests
from tests.e2e.conftest import ARGS, CHART, CHROMIUM, SHOTS, sign_in
from tests.pages.conftest import USERS
from tests.pages.test_admin_self_page import record_self

pytestmark = pytest.mark.e2e


def test_admin_opens_self_monitoring_and_runs_a_job(server: str, e2e_store: tuple[Path, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    record_self(e2e_store[1])
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{server}/admin_self")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
        sign_in(page, "admin", USERS["admin"][2])
        expect(page.get_by_role("heading", name="Self-monitoring", exact=True)).to_be_visible(timeout=60_000)
        page.wait_for_selector(CHART, state="attached", timeout=60_000)
        expect(page.get_by_text("budget 2%").first).to_be_attached()
        time.sleep(1.5)  # the other charts
        page.screenshot(path=str(SHOTS / "admin-self.png"))
        parts = (
            page.locator(".js-plotly-plot").nth(4),
            page.get_by_test_id("stDataFrame"),
            page.get_by_test_id("stCode"),
        )
        for i, part in enumerate(parts):
            part.first.scroll_into_view_if_needed()
            time.sleep(0.5)
            page.screenshot(path=str(SHOTS / f"admin-self-{i + 1}.png"))
        page.get_by_role("button", name="Run now").click()
        expect(page.get_by_text("Asked the daemon to run")).to_be_visible(timeout=60_000)
        browser.close()
    (req,) = JobRequests(sa.create_engine(e2e_store[1])).recent()
    assert req.requested_by == "admin"
