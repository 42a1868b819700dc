"""The user guide's screenshots (docs/guide/), taken in a real browser from what ``pulse up`` shows
on a first start: the demo week of the MCP platform and the alerts and incidents the default rules
raised over it, one view at a time, each as the role the guide describes it for.

Every shot lands in tests/e2e/screenshots/ (ignored by git); with ``PULSE_GUIDE_SHOTS=1`` also in
docs/guide/img/, which is how the committed images are made. Run with ``pytest -m guide`` or
``PULSE_GUIDE_SHOTS=1`` (the default run deselects it: minutes of CI for images that are committed). Each view must have finished its run
without an error box or a traceback, and drawn what it is for (a chart, or a table).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from core.access.policy import Principal, Role
from core.kernel.settings import Settings, load_settings
from core.runtime.backfill import backfill_demo, backfill_demo_alerts
from core.seam import open_backend
from core.storage.tsdb import open_store
from tests.e2e.conftest import (
    ARGS,
    CHART,
    CHROMIUM,
    ROOT,
    SHOTS,
    free_port,
    idle,
    sign_in,
    start_server,
    stop_server,
)
from tests.pages.conftest import USERS, add_users

# the demo week and its alert history take minutes on a loaded machine (30 s + 3 s unloaded)
pytestmark = [pytest.mark.e2e, pytest.mark.guide, pytest.mark.timeout(1800)]
GUIDE_IMG = ROOT / "docs" / "guide" / "img"
DEMO_DAYS = 7  # what `pulse up` writes on a first start: forecasts and right-sizing need days
TABLE = '[data-testid="stDataFrame"]'
GRACE = "grace-pass-123"  # the password of the user the admin adds
SKELETON = '[data-testid="stSkeleton"]'  # an element still being computed
BROKEN = '[data-testid="stException"], [data-testid="stAlertContentError"]'


@dataclass(frozen=True)
class Shot:
    """One view of the guide: its URL path (live refresh off, so the view holds still for the shot),
    who looks at it, what shows it is drawn and its title."""

    name: str
    path: str
    user: str
    ready: str
    heading: str
    then: str | None = None  # the text of a control to click before the shot


SHOTS_OF_GUIDE = (
    Shot("health", "/health?live=0", "viewer", CHART, "Health"),
    Shot("performance", "/performance?range=24h&live=0", "viewer", CHART, "Performance"),
    Shot("alerts", "/alerts?live=0", "lead", TABLE, "Alerts"),
    Shot("incidents", "/incidents?range=7d&show=all&live=0", "lead", TABLE, "Incidents"),
    Shot("optimization", "/optimization?live=0", "lead", TABLE, "Optimization"),
    Shot("capacity", "/capacity", "lead", CHART, "Capacity"),
    Shot("usage", "/usage?range=7d&live=0", "lead", CHART, "Usage"),
    Shot("admin-users", "/admin_users", "admin", TABLE, "Users and roles"),
    Shot("admin-audit", "/admin_audit", "admin", TABLE, "Audit log"),
    Shot("admin-rules", "/admin_rules", "admin", TABLE, "Alert rules"),
    Shot("admin-settings", "/admin_settings", "admin", '[data-testid="stForm"]', "Settings"),
    Shot("admin-self", "/admin_self", "admin", CHART, "Self-monitoring"),  # opens on the daemon's last hour
)


@pytest.fixture(scope="module")
def guide_server(e2e_store: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard on a first-start store (the demo week, its alert history, the fixture users and
    an admin's first changes) with the collection daemon running beside it, as after `pulse up`."""
    root = tmp_path_factory.mktemp("guide")
    url = f"sqlite:///{root}/pulse.db"
    settings = load_settings(database_url=url)
    store = open_store(settings)
    try:
        backfill_demo(store, settings, days=DEMO_DAYS, progress=False)
        backfill_demo_alerts(store, settings, days=DEMO_DAYS, progress=False)
    finally:
        store.close()
    add_users(url, ("admin", "lead", "viewer"))
    _admin_changes(settings)
    daemon, daemon_log = _start_daemon(url, root)  # as `pulse up` does: Self-monitoring has its figures
    try:
        _wait_for_daemon_figures(settings, daemon)
        proc, base, log = start_server(url, root)
        try:
            yield base
        finally:
            stop_server(proc, log)
    finally:
        stop_server(daemon, daemon_log)


def _wait_for_daemon_figures(settings: Settings, daemon: subprocess.Popen[bytes]) -> None:
    """Until the daemon has run its jobs and recorded its own figures a few times (every 15 s), so
    that Self-monitoring draws lines, not single points."""
    deadline = time.monotonic() + 240
    store = open_store(settings)
    try:
        while "pulse_job_duration_seconds" not in store.metrics():
            assert daemon.poll() is None, "pulse collect exited; see collect.log"
            assert time.monotonic() < deadline, "pulse collect recorded no job in 4 minutes"
            time.sleep(2)
    finally:
        store.close()
    time.sleep(50)  # three more rounds of its figures


def _start_daemon(url: str, root: Path) -> tuple[subprocess.Popen[bytes], IO[Any]]:
    """``pulse collect`` on the store, on a free /metrics port, until the fixture stops it."""
    env = {**os.environ, "PULSE_DATABASE_URL": url, "PULSE_DATA_DIR": str(root / "data")}
    log = (root / "collect.log").open("w")
    cmd = [sys.executable, "-m", "core.cli", "collect", "--metrics-port", str(free_port())]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log


def _admin_changes(settings: Settings) -> None:
    """What an admin does on the first day, through the seam as the Users page does it, so the
    audit log has entries: a developer added, the team lead given a second team."""
    backend = open_backend(settings)
    try:
        admin = backend.console(Principal("admin", Role.ADMIN)).admin
        admin.create_user("grace", "developer", ["platform"], "Grace Hopper", "grace@example.com", GRACE)
        admin.set_access("lead", "team_lead", ["platform", "search"])
    finally:
        backend.store.close()


def _take(page: Any, base: str, shot: Shot) -> Path:
    """Open the view, wait until it is drawn and idle, check it has no error, save the PNG."""
    from playwright.sync_api import expect

    page.goto(f"{base}{shot.path}")
    expect(page.get_by_role("heading", name=shot.heading, exact=True)).to_be_visible(timeout=90_000)
    page.locator(shot.ready).first.wait_for(state="attached", timeout=90_000)
    idle(page)
    if shot.then:
        page.get_by_text(shot.then, exact=True).click()
        idle(page)
    page.wait_for_function(f"() => !document.querySelector('{SKELETON}')", timeout=90_000)
    time.sleep(1.5)  # the charts below the first finish drawing
    path = SHOTS / f"guide-{shot.name}.png"
    page.screenshot(path=str(path), full_page=True)
    broken = page.locator(BROKEN)
    assert broken.count() == 0, f"{shot.path} as {shot.user}: {broken.first.inner_text()}"
    return path


def test_every_view_of_the_guide_is_drawn_for_its_role(guide_server: str) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    publish = os.environ.get("PULSE_GUIDE_SHOTS") == "1"
    if publish:
        GUIDE_IMG.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for user in dict.fromkeys(s.user for s in SHOTS_OF_GUIDE):
            context = browser.new_context(viewport={"width": 1440, "height": 1400})
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(guide_server)
            sign_in(page, user, USERS[user][2])
            page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").wait_for()
            for shot in (s for s in SHOTS_OF_GUIDE if s.user == user):
                taken.append(_take(page, guide_server, shot))
            context.close()
        browser.close()
    assert [p.name for p in taken] == [f"guide-{s.name}.png" for s in SHOTS_OF_GUIDE]
    if publish:
        for path in taken:
            shutil.copyfile(path, GUIDE_IMG / path.name.removeprefix("guide-"))
