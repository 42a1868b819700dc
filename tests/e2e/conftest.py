"""Shared pieces of the browser tests: Debian's chromium, a seeded store, ``streamlit run app.py``.

The server helpers are plain functions too, so the page benchmark (bench/pages.py) starts the
dashboard the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.conftest import in_ci
from tests.pages.conftest import add_users, seed

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(__file__).with_name("screenshots")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHART = ".js-plotly-plot .scatterlayer .trace"


def _missing(reason: str) -> None:
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    url: str,
    root: Path,
    timeout_s: float = 60,
    *,
    port: int | None = None,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str, IO[Any]]:
    """``streamlit run app.py`` on a loopback port (free, or ``port``) against ``url``, with extra
    Streamlit ``args`` and ``env``: (process, base URL, log file). Raises RuntimeError with the
    log's tail when it does not answer in time."""
    port = port or free_port()
    env = {**os.environ, "PULSE_DATABASE_URL": url, "PULSE_DATA_DIR": str(root / "data"), **(env or {})}
    env.pop("PULSE_ADMIN_PASSWORD", None)
    log_path = root / "streamlit.log"
    log = log_path.open("w")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true", *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, base, log
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc, log)
            raise RuntimeError(f"streamlit did not start: {log_path.read_text()[-2000:]}")
        time.sleep(0.3)


def stop_server(proc: subprocess.Popen[bytes], log: IO[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    log.close()


@pytest.fixture(scope="module")
def e2e_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A folder and the URL of a store in it, seeded with tests/pages' fleet and users."""
    if not Path(CHROMIUM).exists():
        _missing(f"no browser at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("no playwright (pip install -e '.[test]'; never `playwright install`)")
    root = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{root}/pulse.db"
    seed(url, int(time.time() * 1000))
    add_users(url)
    return root, url


@pytest.fixture(scope="module")
def server(e2e_store: tuple[Path, str]) -> Iterator[str]:
    """The dashboard on the seeded store; yields its base URL."""
    root, url = e2e_store
    try:
        proc, base, log = start_server(url, root)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield base
    finally:
        stop_server(proc, log)


def idle(page: Any) -> None:
    """Wait until the page has finished its run: a control clicked while Streamlit still reruns the
    script may be replaced before the click lands, and the click is lost."""
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def sign_in(page: Any, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
