"""Single sign-on in a real browser against a real OpenID Connect provider (oidc-provider-mock on
loopback): the provider's groups make the user a team lead of one team, the pages show that
team's data only, signing out ends the Pulse session and the provider's identity cookie, and a
user whose groups map to no role is refused with the reason."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.conftest import ARGS, CHART, CHROMIUM, SHOTS, free_port, idle, start_server, stop_server
from tests.pages.conftest import SERVERS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def sso_server(e2e_store: tuple[Path, str], provider: str) -> Iterator[str]:
    root, url = e2e_store
    port = free_port()
    secrets_file = root / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "pulse"\n'
        'client_secret = "pulse-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    env = {
        "PULSE_AUTH__OIDC__ENABLED": "true",
        "PULSE_AUTH__OIDC__ROLE_GROUPS": json.dumps({"pulse-leads": "team_lead", "pulse-admins": "admin"}),
    }
    try:
        proc, base, log = start_server(
            url, root, port=port, args=("--secrets.files", str(secrets_file)), env=env
        )
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield base
    finally:
        stop_server(proc, log)


def _claims(provider: str, sub: str, **claims: object) -> None:
    done = httpx.put(f"{provider}/users/{quote(sub)}", json=claims, timeout=10)
    assert done.status_code == 204, done.text


def _trace_names(page) -> set[str]:  # type: ignore[no-untyped-def]
    names = page.evaluate(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".flatMap(el => (el.data || []).map(t => t.name).filter(Boolean))"
    )
    return set(names)


def test_sign_in_with_the_provider_as_a_team_lead_then_sign_out(sso_server: str, provider: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    _claims(
        provider, "nina", name="Nina Lead", email="nina@example.com", groups=["pulse-leads", "team:platform"]
    )
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{sso_server}/performance")
        page.get_by_role("button", name="Sign in with single sign-on").click()
        page.get_by_placeholder("sub").fill("nina")  # the provider's own authorization form
        page.get_by_role("button", name="Authorize").click()
        try:
            expect(page.get_by_text("nina@example.com · Team lead")).to_be_visible(timeout=60_000)
        except AssertionError:
            page.screenshot(path=str(SHOTS / "sso-failed.png"))
            raise AssertionError(page.url + "\n" + page.inner_text("body")[:2000]) from None
        page.goto(f"{sso_server}/performance")
        page.wait_for_selector(CHART, timeout=60_000)
        time.sleep(1)
        page.screenshot(path=str(SHOTS / "sso-team-lead.png"))
        platform = {s for s, (_, team, *_) in SERVERS.items() if team == "platform"}
        assert _trace_names(page) & set(SERVERS) == platform
        idle(page)
        page.get_by_role("button", name="Sign out").click()
        # Pulse's session ends, then st.logout drops Streamlit's identity cookie and sends the browser
        # to the provider's end-session page, which returns to Pulse after its confirmation
        try:
            page.get_by_role("button", name="End session").click()
        except Exception:
            page.screenshot(path=str(SHOTS / "sso-sign-out-failed.png"))
            raise AssertionError(
                "no end-session page: " + page.url + "\n" + page.inner_text("body")[:2000]
            ) from None
        expect(page.get_by_role("button", name="Sign in with single sign-on")).to_be_visible(timeout=60_000)
        page.goto(sso_server)  # a reload does not sign the user in again
        expect(page.get_by_role("button", name="Sign in with single sign-on")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)
        browser.close()


def test_a_user_without_a_mapped_group_is_refused_with_the_reason(sso_server: str, provider: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    _claims(provider, "mallory", groups=["contractors"])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(60_000)
        page.goto(sso_server)
        page.get_by_role("button", name="Sign in with single sign-on").click()
        page.get_by_placeholder("sub").fill("mallory")
        page.get_by_role("button", name="Authorize").click()
        expect(page.get_by_text("mallory has no Pulse role")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)
        expect(page.locator(".js-plotly-plot .trace")).to_have_count(0)
        page.screenshot(path=str(SHOTS / "sso-refused.png"))
        browser.close()
