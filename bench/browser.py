"""Dashboard sessions in Debian's chromium (Playwright's async API, so many sessions run in one
event loop): sign in, open a page or reload it, and time until the page has finished its run."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import ARGS, CHROMIUM

PAGES = {"health": "Health", "performance": "Performance", "alerts": "Alerts", "incidents": "Incidents"}
DONE_JS = "() => !document.querySelector('[data-testid=stStatusWidget]')"
ERROR_SEL = "[data-testid=stException], [data-testid=stAlertContentError]"


async def launch(p: Any) -> Any:
    return await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


async def sign_in(browser: Any, base: str, user: str, password: str, timeout_ms: int = 120_000) -> Any:
    """A new browser context signed in as ``user``, on the Health page once its run finished."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(timeout_ms)
    await page.goto(base)
    await page.get_by_label("Username").fill(user)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await settled(page, "Health")  # a scoped user may have no chart: their teams may have no data
    return page


async def settled(page: Any, title: str) -> None:
    """The page titled ``title`` is shown and its script run has finished."""
    await page.get_by_role("heading", name=title, exact=True).wait_for()
    await page.wait_for_function(DONE_JS)


async def open_page(page: Any, base: str, path: str, reload: bool) -> tuple[float, int]:
    """Reload the page (a new script run over a new connection, as F5) or go to ``path``:
    (seconds until it settled, number of error elements it shows)."""
    t0 = time.perf_counter()
    if reload:
        await page.reload()
    else:
        await page.goto(f"{base}/{path}")
    await settled(page, PAGES[path])
    took = time.perf_counter() - t0
    return took, await page.locator(ERROR_SEL).count()


def chromium_pid() -> int:
    """chromium's main process: the descendant of this process that is the browser, not a helper."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        if child.name().startswith("chrom") and "--type=" not in " ".join(child.cmdline()):
            return int(child.pid)
    raise RuntimeError("chromium's main process not found")


def driver_pid() -> int | None:
    """Playwright's driver (node), a child of this process that starts chromium, or None."""
    import psutil

    for child in psutil.Process().children():
        if child.name().startswith("node"):
            return int(child.pid)
    return None
