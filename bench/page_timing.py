"""Shared pieces of the what-if speed benchmarks (``bench capacity``, ``bench optimization-view``).

A demo history of N days with the bench admin; the app under AppTest signed in on one page; a
served dashboard with chromium signed in on one page; timing a change until a value the page shows
is different; and the row that judges a median against its target.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import Row
from bench.pages import ADMIN, PASSWORD, _demo_store
from core.kernel.settings import load_settings
from core.seam.signin import SignIn
from core.storage.tsdb import open_store
from pages import _keys as K


class NoBrowser(Exception):
    """Chromium or Playwright is missing: the row says skipped, with this reason."""


def demo_history(root: Path, days: int) -> str:
    """The URL of a store holding ``days`` of demo history and the bench admin."""
    import bench.pages as bp

    saved, bp.DAYS = bp.DAYS, days  # the history _demo_store writes
    try:
        return _demo_store(root)
    finally:
        bp.DAYS = saved


def signed_in_apptest(page: str) -> Any:
    """The app under AppTest, signed in as the bench admin and switched to ``page`` (run once)."""
    from streamlit.testing.v1 import AppTest

    from bench.pages import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    settings = load_settings()
    store = open_store(settings)
    live = SignIn(store.engine, settings).sessions.start(ADMIN, "bench")
    store.close()
    assert live is not None
    at.session_state[K.SESSION] = live.session.id
    at.run()
    at.switch_page(page).run()
    return at


@contextmanager
def signed_in_browser(url: str, root: Path, path: str) -> Iterator[Any]:
    """A chromium page signed in as the bench admin on ``path`` of a dashboard served on ``url``."""
    try:
        from playwright.sync_api import sync_playwright

        from tests.e2e.conftest import ARGS, CHART, CHROMIUM, sign_in, start_server, stop_server
    except ImportError as exc:
        raise NoBrowser(str(exc)) from exc
    if not Path(CHROMIUM).exists():
        raise NoBrowser(f"no browser at {CHROMIUM}")
    proc, base, log = start_server(url, root)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.set_default_timeout(300_000)
            page.goto(base)
            sign_in(page, ADMIN, PASSWORD)
            page.locator(CHART).first.wait_for(state="attached")
            page.goto(f"{base}/{path}")
            yield page
            browser.close()
    finally:
        stop_server(proc, log)


def until_changed(
    page: Any,
    read_js: str,
    change: Callable[[int], None],
    moves: int,
    prepare: Callable[[int], None] = lambda i: None,
) -> list[float]:
    """Seconds from each ``change(i)`` (after an untimed ``prepare(i)``) until ``read_js`` gives
    another value; the first change warms the server's caches, so ``moves + 1`` are made."""
    page.wait_for_function(f"() => ({read_js})() !== null")
    times = []
    for i in range(1 + moves):
        before = page.evaluate(f"({read_js})()")
        prepare(i)
        t0 = time.perf_counter()
        change(i)
        page.wait_for_function(
            f"(b) => {{ const v = ({read_js})(); return v !== null && v !== b; }}", arg=before
        )
        times.append(time.perf_counter() - t0)
        page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')")
    return times


def judged(name: str, times: list[float], target_s: float, first: str = "first") -> Row:
    """The row of a warm median (the first time set apart) against its target."""
    median = statistics.median(times[1:])
    return Row(
        name,
        f"{median:.2f} s median of {len(times) - 1}",
        f"{first} {times[0]:.2f} s",
        f"< {target_s:g} s",
        "ok" if median < target_s else "MISS",
    )
