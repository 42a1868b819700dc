"""Admin > Settings and Admin > Alert rules in a real browser: an admin changes a retention setting
and sees it saved (and audited), then finds the default rules with their source and previews one."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARGS, CHROMIUM, SHOTS, idle, sign_in
from tests.pages.conftest import USERS

pytestmark = pytest.mark.e2e


def test_admin_changes_a_setting_and_previews_a_rule(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{server}/admin_settings")
        sign_in(page, "admin", USERS["admin"][2])
        expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
        idle(page)
        page.get_by_role("tab", name="Retention").click()
        form = page.get_by_test_id("stForm").filter(has_text="Save retention")
        field = form.get_by_role("spinbutton", name="Raw days")
        field.fill("5")
        field.press("Tab")
        form.get_by_role("button", name="Save retention").click()
        expect(page.get_by_text("retention changed by admin")).to_be_visible()
        page.screenshot(path=str(SHOTS / "admin-settings.png"), full_page=True)

        page.get_by_role("link", name="Audit log").click()
        expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
        expect(page.get_by_text("settings.update").first).to_be_attached()  # a grid cell (canvas-drawn)

        page.get_by_role("link", name="Alert rules").click()
        expect(page.get_by_role("heading", name="Alert rules")).to_be_visible()
        idle(page)
        expect(page.get_by_text("default pack").first).to_be_visible()
        page.screenshot(path=str(SHOTS / "admin-rules.png"), full_page=True)
        browser.close()
