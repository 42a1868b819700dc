"""The dashboard's own speed over a 7-day demo history.

(a) A full script run of each page (Health, Performance) under streamlit.testing's AppTest, signed
in as admin: the median of 5 runs after a warm-up (target < 1 s), and a cold run (``st.cache_data``
cleared) as a ratio of that median. (b) In real chromium: from the click on "Sign in" to the first
plotly trace on screen, the median of 5 sign-ins after a warm-up one (target < 2 s).

How (b) is timed: both ends are read from the page's own clock, the click when the browser
dispatches it and the chart at the first frame after a trace entered the page, so Playwright's
polling (which waits for a free main thread, long after the first chart is drawn while the
others are) adds nothing. Each sign-in starts once the sign-in screen has finished loading,
including the chart library it preloads: a person needs those seconds to type a password, and
filling the form the instant the button appears would charge the page load to the sign-in. The
admin's password is hashed at the real bcrypt cost, so each sign-in pays the real check.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import Row
from core.access import accounts
from core.kernel.settings import load_settings
from core.runtime.backfill import backfill_demo
from core.seam.signin import SignIn
from core.storage.repos.users import UserRepo
from core.storage.tsdb import open_store
from pages import _keys as K

ROOT = Path(__file__).resolve().parents[1]
DAYS, RUNS, BROWSER_RUNS = 7, 5, 5
ADMIN, PASSWORD = "admin", "bench-admin-pass-1"
PAGES = {"Health": None, "Performance": "pages/performance.py"}
PAGE_TARGET_S, SIGN_IN_TARGET_S = 1.0, 2.0


def _demo_store(folder: Path) -> str:
    url = f"sqlite:///{folder}/pages.db"
    settings = load_settings(database_url=url)
    store = open_store(settings)
    backfill_demo(store, settings, days=DAYS, progress=False)
    store.run_rollups()
    UserRepo(store.engine).add(
        username=ADMIN,
        password_hash=accounts.hash_password(PASSWORD),  # the real cost: each sign-in pays it
        role="admin",
        now_ms=store.now_ms(),
        display_name="Admin",
    )
    store.close()
    return url


@contextmanager
def _environment(url: str, data_dir: Path) -> Iterator[None]:
    """The dashboard's settings in the environment, run from the repository root, and AppTest
    kept in navigation mode between runs (as tests/pages/conftest.py does)."""
    from streamlit.runtime.pages_manager import PagesManager

    saved = {k: os.environ.get(k) for k in ("PULSE_DATABASE_URL", "PULSE_DATA_DIR", "PULSE_ADMIN_PASSWORD")}
    cwd, init = Path.cwd(), PagesManager.__init__

    def steady(self: PagesManager, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    os.environ.update(PULSE_DATABASE_URL=url, PULSE_DATA_DIR=str(data_dir))
    os.environ.pop("PULSE_ADMIN_PASSWORD", None)
    PagesManager.__init__ = steady  # type: ignore[method-assign]
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(cwd)
        PagesManager.__init__ = init  # type: ignore[method-assign]
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _page_rows() -> list[Row]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    rows = []
    for title, path in PAGES.items():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        settings = load_settings()
        store = open_store(settings)
        live = SignIn(store.engine, settings).sessions.start(ADMIN, "bench")  # what a sign-in leaves
        store.close()
        assert live is not None
        at.session_state[K.SESSION] = live.session.id
        at.run()
        if path:
            at.switch_page(path)
        at.run()  # warm-up
        if at.exception or at.title[0].value != title or not at.get("plotly_chart"):
            raise RuntimeError(f"{title} did not render: {at.exception or [t.value for t in at.title]}")
        warm = statistics.median(_timed(at.run) for _ in range(RUNS))
        st.cache_data.clear()
        cold = _timed(at.run)
        assert not at.exception
        rows.append(
            Row(
                f"pages: {title} full run, {DAYS} d demo (AppTest)",
                f"{warm * 1000:.0f} ms median of {RUNS}",
                f"cold (cache cleared) {cold * 1000:.0f} ms = {cold / warm:.1f}x warm",
                f"< {PAGE_TARGET_S:g} s",
                "ok" if warm < PAGE_TARGET_S else "MISS",
            )
        )
    return rows


# Time stamps from the page's clock (epoch ms): the click on "Sign in" as dispatched, then the
# first frame after a plotly chart with a trace is shown (laid out, not visibility:hidden, which
# plotly uses while it draws): a requestAnimationFrame callback runs before that frame is painted,
# a timeout set in it after.
MARKS_JS = """
(() => {
  const marks = (window.__pulseMarks = {});
  const now = () => performance.timeOrigin + performance.now();
  document.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    if (!marks.click && button && button.textContent.includes("Sign in")) marks.click = now();
  }, true);
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility === "visible";
  };
  new MutationObserver(() => {
    if (marks.chart) return;
    const traces = document.querySelectorAll(".js-plotly-plot .scatterlayer .trace");
    if (![...traces].some((t) => shown(t.closest(".js-plotly-plot")))) return;
    marks.chart = now();
    requestAnimationFrame(() => setTimeout(() => { marks.painted = now(); }, 0));
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["style", "class"] });
})();
"""


def _sign_in_once(browser: Any, base: str) -> tuple[float, float]:
    """One sign-in in a fresh browser context: (click to first chart painted, the same as seen by
    Playwright), in seconds."""
    from tests.e2e.conftest import CHART, sign_in

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.add_init_script(MARKS_JS)
        page.goto(base)
        page.get_by_role("button", name="Sign in").wait_for()
        page.locator(".js-plotly-plot").first.wait_for(state="attached")  # the preloaded library ran
        page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')")
        t0 = time.perf_counter()
        sign_in(page, ADMIN, PASSWORD)
        page.locator(CHART).first.wait_for(state="attached")
        page.locator(".js-plotly-plot").first.wait_for(state="visible")
        seen = time.perf_counter() - t0
        page.wait_for_function("() => 'painted' in window.__pulseMarks")
        marks = page.evaluate("window.__pulseMarks")
        return (marks["painted"] - marks["click"]) / 1000, seen
    finally:
        context.close()


def _browser_row(url: str, root: Path) -> Row:
    name = "pages: Sign in click -> first chart (chromium)"
    try:
        from playwright.sync_api import sync_playwright

        from tests.e2e.conftest import ARGS, CHROMIUM, start_server, stop_server
    except ImportError as exc:
        return Row(name, f"skipped: {exc}")
    if not Path(CHROMIUM).exists():
        return Row(name, f"skipped: no browser at {CHROMIUM}")
    proc, base, log = start_server(url, root)
    times: list[tuple[float, float]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for _ in range(1 + BROWSER_RUNS):  # the first one meets a cold server
                times.append(_sign_in_once(browser, base))
            browser.close()
    finally:
        stop_server(proc, log)
    median = statistics.median(t for t, _ in times[1:])
    seen = statistics.median(s for _, s in times[1:])
    return Row(
        name,
        f"{median:.2f} s median of {BROWSER_RUNS}",
        f"first (cold server) {times[0][0]:.2f} s; as polled by Playwright {seen:.2f} s",
        f"< {SIGN_IN_TARGET_S:g} s",
        "ok" if median < SIGN_IN_TARGET_S else "MISS",
    )


def run(folder: Path) -> list[Row]:
    root = Path(tempfile.mkdtemp(prefix="pages-", dir=folder))
    t0 = time.perf_counter()
    url = _demo_store(root)
    setup = Row(f"pages: {DAYS} d demo history written", f"{time.perf_counter() - t0:.0f} s")
    with _environment(url, root / "data"):
        rows = _page_rows()
    return [setup, *rows, _browser_row(url, root)]
