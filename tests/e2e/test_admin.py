"""The admin views in a real browser: an admin adds a user, sees the generated password once, and
finds the entry in the audit log; a developer gets no Admin section. Screenshots land in
tests/e2e/screenshots/ (ignored by git)."""

from __future__ import annotations

import pytest

from core.access import accounts
from core.kernel.settings import load_settings
from core.storage.repos.users import UserRepo
from core.storage.tsdb import open_store
from tests.e2e.conftest import ARGS, CHROMIUM, SHOTS
from tests.e2e.conftest import sign_in as _sign_in
from tests.pages.conftest import USERS

pytestmark = pytest.mark.e2e


def test_admin_creates_a_user_and_sees_the_audit_entry(server: str, e2e_store) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # a run that hashes a password takes a while on a busy machine

    _, url = e2e_store
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{server}/admin_users")  # a deep link, signed out
        _sign_in(page, "admin", USERS["admin"][2])
        expect(page.get_by_role("heading", name="Users and roles")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("link", name="Audit log")).to_be_visible()

        form = page.get_by_test_id("stForm").filter(has_text="Add user")
        form.get_by_label("Username").fill("grace")
        form.get_by_label("Display name").fill("Grace H")
        form.get_by_label("Email").fill("grace@example.com")
        form.get_by_role("button", name="Add user").click()
        expect(page.get_by_text("Added grace (viewer).")).to_be_visible()
        shown = page.get_by_test_id("stCode").inner_text().strip()
        expect(form.get_by_label("Username")).to_have_value("")  # the form is empty again
        page.screenshot(path=str(SHOTS / "admin-users.png"), full_page=True)
        store = open_store(load_settings(database_url=url))
        grace = UserRepo(store.engine).get("grace")
        store.close()
        assert grace is not None and grace.role == "viewer"
        assert accounts.verify_password(shown, grace.password_hash)

        page.get_by_role("link", name="Audit log").click()
        expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
        grid = page.get_by_test_id("stDataFrame")
        expect(grid).to_be_visible()
        page.wait_for_timeout(1000)  # the grid draws on a canvas: its cells are not in the DOM
        page.screenshot(path=str(SHOTS / "admin-audit.png"), full_page=True)
        expect(page.get_by_text("1 entry from")).to_be_visible()
        expect(page.get_by_test_id("stDownloadButton")).to_be_visible()

        # a developer: no Admin section, and the deep link is refused
        dev = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        dev.set_default_timeout(30_000)
        dev.goto(f"{server}/admin_audit")
        _sign_in(dev, "dev", USERS["dev"][2])
        expect(dev.get_by_text("may not open Audit log")).to_be_visible(timeout=60_000)
        expect(dev.get_by_role("link", name="Users and roles")).to_have_count(0)
        expect(dev.get_by_text("Admin", exact=True)).to_have_count(0)
        dev.screenshot(path=str(SHOTS / "admin-refused.png"))
        browser.close()
