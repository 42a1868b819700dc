"""The Capacity view in a real browser: forecast chart drawn, a slider moved redraws the scenario,
a bad combination shows its message. Screenshots land in tests/e2e/screenshots/ (ignored by git)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ARGS, CHART, CHROMIUM, SHOTS, sign_in, start_server, stop_server
from tests.pages.capacity_fleet import seed_capacity
from tests.pages.conftest import USERS, add_users

pytestmark = pytest.mark.e2e
SCENARIO_LAST = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  const t = plot && plot._fullData && plot._fullData.find((d) => d.name === 'Scenario');
  return t ? t.y[t.y.length - 1] : null;
}"""


@pytest.fixture(scope="module")
def capacity_server(e2e_store: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("capacity-e2e")
    url = f"sqlite:///{root}/c.db"
    seed_capacity(url, int(time.time() * 1000))
    add_users(url)
    proc, base, log = start_server(url, root)
    try:
        yield base
    finally:
        stop_server(proc, log)


def test_capacity_slider_redraws_the_scenario(capacity_server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.set_default_timeout(120_000)
        page.goto(capacity_server)
        sign_in(page, "lead", USERS["lead"][2])
        page.locator(CHART).first.wait_for(state="attached")
        page.goto(f"{capacity_server}/capacity")
        SHOTS.mkdir(exist_ok=True)
        try:
            _steps(page)
        except Exception:
            page.screenshot(path=str(SHOTS / "capacity-failed.png"), full_page=True)
            raise
        browser.close()


def _steps(page: Any) -> None:
    page.wait_for_function(f"() => ({SCENARIO_LAST})() !== null")
    before = page.evaluate(f"({SCENARIO_LAST})()")
    page.get_by_role("slider", name="User growth (%)").focus()
    for _ in range(4):  # +20 %
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"(b) => {{ const v = ({SCENARIO_LAST})(); return v !== null && v > b * 1.1; }}", arg=before
    )
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')")
    page.screenshot(path=str(SHOTS / "capacity.png"), full_page=True)
    assert page.get_by_text("Scoped to your teams").is_visible()
    hosts = page.get_by_role("slider", name="Hosts added")
    hosts.focus()
    page.keyboard.press("Home")  # every host removed
    page.get_by_text("zero hosts").wait_for()
    page.screenshot(path=str(SHOTS / "capacity-zero-hosts.png"), full_page=True)
