"""Shared fixtures: a controllable clock, real PostgreSQL (schema per session and per test) and stores.

PostgreSQL comes from ``PULSE_TEST_DATABASE_URL`` when set, else the local server at
127.0.0.1:5432 (database ``test``) when it answers, else a throwaway cluster started here with
``initdb``/``pg_ctl`` (as the ``postgres`` user when running as root). When none is possible the
PostgreSQL tests fail in CI (``CI=true``) and are skipped locally, with the reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.kernel.settings import load_settings
from core.storage.engine import normalise_url
from core.storage.tsdb.store import Store, open_store

LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# 2023-11-15 00:00:00 UTC: aligned to the day, the hour, the minute and every chunk width.
T0_MS = 1_700_006_400_000


class FakeClock:
    """A clock the tests move by hand: ``.now`` in Unix seconds, called like ``time.time``."""

    def __init__(self, now: float = T0_MS / 1000) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def ms(self) -> int:
        return int(self.now * 1000)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """A missing component: fail in CI, skip locally."""
    if in_ci():
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL for the tests: {reason}")


def _answers(url: str, timeout_s: int = 3) -> str | None:
    """None when ``url`` accepts a query within the timeout, else the reason it does not."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": timeout_s}, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return None
    except Exception as exc:  # any failure to connect means "not this one"
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayCluster:
    """A PostgreSQL cluster in a temporary directory on a free loopback port, trust auth.

    ``settings`` are extra server settings passed as ``-c name=value`` at start, e.g.
    ``{"shared_preload_libraries": "pg_stat_statements"}`` (none by default).
    """

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
        if not bins:
            raise RuntimeError("no initdb under /usr/lib/postgresql/*/bin")
        self.bindir = Path(bins[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="pulse-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.started = False
        self.settings = dict(settings or {})

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")

    def start(self) -> str:
        if self.as_root:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -F"
        opts += "".join(f" -c {key}={value}" for key, value in self.settings.items())
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        self.started = True
        admin = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE test")
        engine.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/test"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            if self.started:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL database the tests may create schemas in (no search_path set)."""
    reasons = []
    env_url = os.environ.get("PULSE_TEST_DATABASE_URL")
    if env_url:
        url = normalise_url(env_url)
        why = _answers(url)
        if why is not None:
            unavailable(f"PULSE_TEST_DATABASE_URL does not answer ({why})")
        yield url
        return
    why = _answers(LOCAL_PG)
    if why is None:
        yield LOCAL_PG
        return
    reasons.append(f"local server {LOCAL_PG}: {why}")
    cluster = None
    try:
        cluster = ThrowawayCluster()
        url = cluster.start()
    except Exception as exc:
        if cluster is not None:
            cluster.stop()
        reasons.append(f"throwaway cluster: {exc}")
        unavailable("; ".join(reasons))
    try:
        yield url
    finally:
        cluster.stop()


def with_search_path(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` (``?options=-csearch_path%3D<schema>``)."""
    u = sa.make_url(url)
    return u.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


class PgSchemas:
    """Creates uniquely named schemas on one server and drops them (CASCADE)."""

    def __init__(self, server_url: str) -> None:
        self.admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)

    def create(self) -> tuple[str, str]:
        name = f"pulse_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        return name, with_search_path(self.admin.url.render_as_string(hide_password=False), name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    @contextlib.contextmanager
    def fresh(self) -> Iterator[str]:
        name, url = self.create()
        try:
            yield url
        finally:
            self.drop(name)


@pytest.fixture(scope="session")
def pg_schemas(pg_server_url: str) -> Iterator[PgSchemas]:
    schemas = PgSchemas(pg_server_url)
    yield schemas
    schemas.admin.dispose()


@pytest.fixture(scope="session")
def pg_url(pg_schemas: PgSchemas) -> Iterator[str]:
    """A schema ``pulse_test_<random>`` for the whole session; dropped at the end."""
    with pg_schemas.fresh() as url:
        yield url


@pytest.fixture
def pg_schema_url(pg_schemas: PgSchemas) -> Iterator[str]:
    """A fresh, empty schema for one test (what Alembic-created stores need); dropped after."""
    with pg_schemas.fresh() as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of the parametrized backend for one test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/pulse.db"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def make_store(db_url: str, clock: FakeClock) -> Iterator[Callable[..., Store]]:
    """``make_store(**setting_overrides)`` opens a store on this test's database (again and again,
    e.g. to reopen it) with the test's clock unless ``clock=`` is given; all are closed after."""
    opened: list[Store] = []

    def make(clock: Callable[[], float] = clock, **overrides: Any) -> Store:
        store = open_store(load_settings(database_url=db_url, **overrides), clock=clock)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    """A store with default settings on an empty SQLite file or PostgreSQL schema, fake clock."""
    return make_store()


GROUPS = {"security": "security", "faults": "faults"}  # tests/<folder> -> the marker its tests carry


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/security and tests/faults carry their group's marker (``pytest -m security``).

    The user guide's screenshots (``guide``: a demo week, a daemon and ten views, minutes of CI time)
    run when asked for, ``pytest -m guide`` or ``PULSE_GUIDE_SHOTS=1``; otherwise they are reported
    as deselected. tests/pages/test_user_guide.py checks in every run that the committed images exist
    and are used."""
    wanted = "guide" in (config.getoption("markexpr", "") or "") or os.environ.get("PULSE_GUIDE_SHOTS") == "1"
    kept, dropped = [], []
    for item in items:
        parts = Path(str(item.fspath)).parts
        for folder, mark in GROUPS.items():
            if "tests" in parts and folder in parts[parts.index("tests") :]:
                item.add_marker(getattr(pytest.mark, mark))
        (dropped if item.get_closest_marker("guide") and not wanted else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# a local HTTP receiver and a real Alertmanager, for every test that notifies (alerting, runtime, CLI)
from tests.daemons import daemons  # noqa: E402,F401  # daemons started by a test, killed after it
from tests.receivers import alertmanager, receiver  # noqa: E402,F401

_REPO_DATA = Path(__file__).resolve().parent.parent / "data"


def _repo_data_files() -> dict[str, float]:
    return {p.name: p.stat().st_mtime for p in _REPO_DATA.iterdir()} if _REPO_DATA.is_dir() else {}


@pytest.fixture(scope="session", autouse=True)
def _repository_data_folder_untouched() -> Iterator[None]:
    """Tests write only to temporary folders: a file made or changed in the repository's own
    data/ folder (a store or rule file opened with the default ``data_dir``) fails the run."""
    before = _repo_data_files()
    yield
    after = _repo_data_files()
    changed = sorted(name for name, mtime in after.items() if before.get(name) != mtime)
    assert not changed, f"tests wrote {changed} into {_REPO_DATA}: give the store a tmp_path data_dir"
