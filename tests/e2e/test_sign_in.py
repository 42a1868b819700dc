"""Sign-in in a real browser: deep link, wrong password, the cookie across a reload, team scoping, sign-out.

What AppTest cannot show: the cookie components run in the browser. Starts ``streamlit run app.py``
on a free loopback port against a seeded SQLite store and drives Debian's chromium with Playwright.
Screenshots land in tests/e2e/screenshots/ (ignored by git).
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import ARGS, CHART, CHROMIUM, SHOTS
from tests.e2e.conftest import sign_in as _sign_in
from tests.pages.conftest import SERVERS, USERS

pytestmark = pytest.mark.e2e


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
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)  # a cold server
        expect(page.locator(".js-plotly-plot .trace")).to_have_count(0)  # no chart with data
        page.screenshot(path=str(SHOTS / "sign-in.png"))

        _sign_in(page, "lead", "not-the-password")
        expect(page.get_by_text("Wrong username or password.")).to_be_visible()
        expect(page.locator(".js-plotly-plot .trace")).to_have_count(0)  # no chart with data

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
        # the sign-in form is what matters; the one-shot "You are signed out." note can be consumed
        # by the rerun that deletes the cookie, so it is not waited for
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=15_000)
        expect(page.locator(".js-plotly-plot .trace")).to_have_count(0)  # no chart with data
        page.screenshot(path=str(SHOTS / "signed-out.png"))
        deadline = time.monotonic() + 10
        while "pulse_auth" in {c["name"] for c in context.cookies()} and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "pulse_auth" not in {c["name"] for c in context.cookies()}
        page.reload()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=15_000)
        expect(page.locator(".js-plotly-plot .trace")).to_have_count(0)  # no chart with data
        browser.close()
