"""A small, known fleet in a temporary SQLite store, its users, and AppTest runs of app.py against it.

Users are signed in by starting a session in the database and putting its id in session state
(``user=...``), which is what a sign-in or a valid cookie does; tests of the sign-in form itself fill it in and click (test_auth_pages).
Passwords are hashed once per session with few bcrypt rounds (the cost is stored in the hash, so
checking them is fast too).
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from core.access import accounts
from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.seam.signin import SignIn
from core.storage.repos.users import UserRepo
from core.storage.tsdb import open_store
from pages import _keys as K

ROOT = Path(__file__).resolve().parents[2]
HOSTS = {  # host: (cpu, memory, disk /, disk /data)
    "web-1": (0.35, 0.55, 0.40, 0.30),
    "web-2": (0.50, 0.60, 0.45, 0.85),  # warning: /data over 80 %
    "gpu-1": (0.95, 0.70, 0.50, 0.20),  # critical: CPU over 90 %
}
SERVERS = {  # server: (host, team, kind, up, ping seconds)
    "github": ("web-1", "platform", "stdio", 1, 0.02),
    "postgres": ("web-1", "data", "http", 1, 0.03),
    "search": ("web-2", "platform", "http", 1, 0.40),  # warning: slow ping
    "files": ("gpu-1", "ml", "stdio", 0, 0.05),  # critical: down
}
TOOLS = {  # (server, tool): (calls per second, error ratio, p95 seconds)
    ("github", "search_issues"): (2.0, 0.01, 0.20),
    ("github", "create_pr"): (0.5, 0.20, 0.80),
    ("postgres", "query"): (3.0, 0.00, 1.50),
    ("search", "web_search"): (1.0, 0.05, 0.60),
    ("files", "read_file"): (4.0, 0.00, 0.01),
}

USERS = {  # username: (role, teams, password)
    "admin": ("admin", (), "admin-pass-1"),
    "lead": ("team_lead", ("platform",), "lead-pass-1"),
    "dev": ("developer", ("data",), "dev-pass-12"),
    "viewer": ("viewer", (), "viewer-pass-1"),
    "viewer-ml": ("viewer", ("ml",), "viewer-pass-2"),
    "newbie": ("developer", (), "newbie-pass-1"),
}
_HASHES: dict[str, str] = {}


def password_hash(username: str) -> str:
    """The bcrypt hash of a fixture user's password, computed once per test session."""
    if username not in _HASHES:
        _HASHES[username] = accounts.hash_password(USERS[username][2], rounds=4)
    return _HASHES[username]


def add_users(store_url: str, names: tuple[str, ...] = tuple(USERS)) -> None:
    store = open_store(load_settings(database_url=store_url))
    repo = UserRepo(store.engine)
    for name in names:
        role, teams, _ = USERS[name]
        repo.add(
            username=name,
            password_hash=password_hash(name),
            role=role,
            teams=teams,
            display_name=name.capitalize(),
            now_ms=store.now_ms(),
        )
    store.close()


def copy_db(url: str, folder: Path) -> str:
    """The same SQLite data under a new URL: a page opens a fresh backend on it (backends are
    cached per URL), so settings from this test's environment (prices, ...) apply."""
    src = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", folder / f"copy.db{suffix}")
    return f"sqlite:///{folder}/copy.db"


SEEDED_AT: dict[str, int] = {}  # database URL -> the time its seeded data ends (ms)


def seed(store_url: str, now_ms: int, hours: float = 3.0, step_s: int = 60) -> None:
    """Write ``hours`` of the fleet above at ``step_s`` spacing, ending at ``now_ms``; then roll up."""
    store = open_store(load_settings(database_url=store_url))
    start = now_ms - int(hours * 3_600_000)
    counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    batch: list[Sample] = []

    def add(metric: str, value: float, ts: int, **labels: object) -> None:
        batch.append(Sample(metric, labels_of(**labels), ts, float(value)))

    def count(metric: str, inc: float, ts: int, **labels: object) -> None:
        key = (metric, labels_of(**labels))
        counters[key] = counters.get(key, 0.0) + inc
        add(metric, counters[key], ts, **labels)

    for ts in range(start - start % (step_s * 1000), now_ms + 1, step_s * 1000):
        wave = 1 + 0.05 * math.sin(ts / 600_000)
        for host, (cpu, mem, disk, data) in HOSTS.items():
            add("host_up", 1, ts, host=host)
            add("host_cpu_utilization_ratio", min(1.0, cpu * wave), ts, host=host)
            add("host_load1", cpu * 8, ts, host=host)
            add("host_memory_utilization_ratio", mem, ts, host=host)
            add("host_memory_total_bytes", 64 * 2**30, ts, host=host)
            add("host_memory_used_bytes", mem * 64 * 2**30, ts, host=host)
            add("host_disk_utilization_ratio", disk, ts, host=host, mountpoint="/")
            add("host_disk_utilization_ratio", data, ts, host=host, mountpoint="/data")
            count("host_network_receive_bytes_total", 2e6 * step_s * wave, ts, host=host, device="eth0")
            count("host_network_transmit_bytes_total", 1e6 * step_s, ts, host=host, device="eth0")
        for server, (host, team, kind, up, ping) in SERVERS.items():
            lb = {
                "server": server,
                "host": host,
                "team": team,
                "kind": kind,
                "user": "ada",
                "session_id": "s1",
            }
            add("mcp_server_up", up, ts, **lb)
            add("mcp_client_operation_duration_seconds", ping, ts, mcp_method_name="ping", **lb)
            add("mcp_client_operation_duration_seconds", ping * 3, ts, mcp_method_name="tools/list", **lb)
            add("container_cpu_usage_cores", 0.2, ts, **lb)
            add("container_cpu_limit_cores", 1.0, ts, **lb)
            add("container_memory_working_set_bytes", 200 * 2**20, ts, **lb)
            add("container_memory_limit_bytes", 512 * 2**20, ts, **lb)
            count("container_restarts_total", 0, ts, **lb)
        for (server, tool), (rate, err, p95) in TOOLS.items():
            host, team = SERVERS[server][0], SERVERS[server][1]
            lb = {
                "server": server,
                "host": host,
                "team": team,
                "gen_ai_tool_name": tool,
                "mcp_method_name": "tools/call",
            }
            count("mcp_server_tool_calls_total", rate * step_s, ts, **lb)
            count("mcp_server_tool_errors_total", rate * err * step_s, ts, **lb)
            for q, factor in (("0.5", 0.4), ("0.95", 1.0), ("0.99", 1.6)):
                add("mcp_server_operation_duration_seconds", p95 * factor, ts, quantile=q, **lb)
        if len(batch) > 20_000:
            store.write(batch)
            batch.clear()
    store.write(batch)
    store.run_rollups()
    store.close()


@pytest.fixture(scope="session")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('pulse')}/p.db"
    SEEDED_AT[url] = int(time.time() * 1000)
    seed(url, SEEDED_AT[url])
    add_users(url)
    return url


@pytest.fixture
def empty_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/empty.db"
    add_users(url)
    return url


AppFactory = Callable[..., AppTest]


def sign_in_state(at: AppTest, url: str, username: str) -> None:
    """What a sign-in (or a valid cookie) leaves: a session in the database, its id in session state."""
    store = open_store(load_settings(database_url=url))
    try:
        live = SignIn(store.engine, load_settings(database_url=url)).sessions.start(username, "test")
    finally:
        store.close()
    assert live is not None, f"no user {username!r} in {url}"
    at.session_state[K.SESSION] = live.session.id


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppFactory]:
    """``app(url, page=None, user="admin", **query_params)``: app.py run once as ``user`` (None: nobody
    signed in), then switched to ``page``.

    AppTest re-detects the legacy ``pages/`` folder before every run, so a run after one that ended
    on pages/health.py starts that file alone, and its rerun back into app.py drops button clicks.
    A real server leaves that mode for good at its first ``st.navigation``; the patch below makes
    every AppTest run start the way a running server does.
    """
    original = PagesManager.__init__

    def steady_state(self: PagesManager, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", steady_state)
    monkeypatch.setenv("PULSE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.delenv("PULSE_ADMIN_PASSWORD", raising=False)

    def make(
        url: str, page: str | None = None, user: str | None = "admin", **params: str | list[str]
    ) -> AppTest:
        monkeypatch.setenv("PULSE_DATABASE_URL", url)
        monkeypatch.chdir(ROOT)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params.update(params)
        if user:
            sign_in_state(at, url, user)
        at.run()
        if page:
            at.switch_page(page).run()
        return at

    yield make
