"""ProcessCollector against real processes the tests start and kill (real psutil underneath).

Children are ``python -c ... pulse-test-<uuid>-<group>``: the marker in the command line is what
the groups match, so other processes of the machine never take part. Thin wrappers around the real
psutil count the process-table walks and make single reads fail.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from collectors.base import Collector
from collectors.process import ProcessCollector
from collectors.registry import build_source
from core.kernel.errors import CollectorError
from core.kernel.samples import Sample, labels_of
from core.kernel.settings.sources import ProcessSource
from tests.collectors.conftest import Scheduled
from tests.conftest import FakeClock

SLEEPER = "import time; print('ready', flush=True); time.sleep(600)"
BUSY = "import time\nprint('ready', flush=True)\nend = time.time() + 600\nwhile time.time() < end: pass"


class Children:
    """Start children carrying a marker in their command line; kill the survivors at the end."""

    def __init__(self) -> None:
        self.run = f"pulse-test-{uuid.uuid4().hex[:12]}"
        self.procs: list[subprocess.Popen[bytes]] = []

    def marker(self, group: str) -> str:
        return f"{self.run}-{group}"

    def start(self, group: str, n: int = 1, code: str = SLEEPER) -> list[subprocess.Popen[bytes]]:
        """``n`` children, returned once each has started up (their start-up CPU is behind them)."""
        cmd = [sys.executable, "-c", code, self.marker(group)]
        new = [subprocess.Popen(cmd, stdout=subprocess.PIPE) for _ in range(n)]
        self.procs += new
        for p in new:
            assert p.stdout is not None and p.stdout.readline() == b"ready\n"
        return new

    def stop(self, p: subprocess.Popen[bytes], reap: bool = True) -> None:
        p.kill()
        if reap:
            p.wait(10)
        else:  # left a zombie until the end of the test: killed but not waited for
            _wait_zombie(p.pid)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)
            if p.stdout is not None:
                p.stdout.close()


def _wait_zombie(pid: int) -> None:
    deadline = time.monotonic() + 10
    while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"pid {pid} did not become a zombie"
        time.sleep(0.01)


@pytest.fixture
def kids() -> Iterator[Children]:
    c = Children()
    yield c
    c.close()


class Proxy:
    """A real psutil.Process whose named methods raise instead (``fail``: name -> exception class)."""

    def __init__(self, proc: psutil.Process, fail: dict[str, type[Exception]]) -> None:
        self._proc, self._fail = proc, fail

    def __getattr__(self, name: str) -> Any:
        if name in self._fail:
            exc = self._fail[name]

            def raise_(*_a: Any, **_k: Any) -> Any:
                raise exc(self._proc.pid)

            return raise_
        return getattr(self._proc, name)

    def __eq__(self, other: object) -> bool:
        return self._proc == (other._proc if isinstance(other, Proxy) else other)

    def __hash__(self) -> int:
        return hash(self._proc)


class Wrapped:
    """The real psutil module, counting ``process_iter`` walks.

    ``fail`` maps a PID to the methods that raise for it; ``after_listing`` runs after the walk has
    yielded a process (to make it vanish between listing and reading).
    """

    def __init__(
        self,
        fail: dict[int, dict[str, type[Exception]]] | None = None,
        after_listing: Callable[[psutil.Process], None] | None = None,
    ) -> None:
        self.calls: Counter[str] = Counter()
        self.fail = fail or {}
        self.after_listing = after_listing
        self.broken_walk: Exception | None = None

    def process_iter(self, *a: Any, **k: Any) -> Iterator[Any]:
        self.calls["process_iter"] += 1
        if self.broken_walk is not None:
            raise self.broken_walk
        return self._iter(psutil.process_iter(*a, **k))

    def _iter(self, procs: Iterator[psutil.Process]) -> Iterator[Any]:
        for p in procs:
            yield Proxy(p, self.fail[p.pid]) if p.pid in self.fail else p
            if self.after_listing is not None:
                self.after_listing(p)

    def __getattr__(self, name: str) -> Any:
        return getattr(psutil, name)


def source(kids: Children, *groups: str, **kw: Any) -> ProcessSource:
    spec = [{"name": g, "pattern": re.escape(kids.marker(g)) + "$"} for g in groups]
    return ProcessSource(name="procs", groups=spec, **kw)


def by_group(samples: list[Sample], metric: str) -> dict[str, float]:
    return {dict(s.labels)["group"]: s.value for s in samples if s.metric == metric}


def metrics_of(samples: list[Sample], group: str) -> dict[str, float]:
    return {s.metric: s.value for s in samples if dict(s.labels)["group"] == group}


ALWAYS = {
    "process_group_up",
    "process_group_processes",
    "process_group_cpu_seconds_total",
    "process_group_restarts_total",
    "process_group_resident_memory_bytes",
    "process_group_threads",
    "process_group_open_fds",
}


def test_is_a_registered_collector_and_constructing_does_no_io(kids: Children) -> None:
    class Broken:
        Process = psutil.Process

        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"psutil.{name} used while constructing")

    cfg = source(kids, "a", interval_s=20, timeout_s=2)
    ProcessCollector(cfg, psutil_module=Broken())
    c = build_source(cfg)
    assert isinstance(c, ProcessCollector) and isinstance(c, Collector)
    assert (c.name, c.interval, c.deadline_s) == ("procs", 20, cfg.deadline_s)


def test_groups_count_real_processes_with_sane_values(kids: Children) -> None:
    kids.start("a", 3)
    kids.start("b", 1)
    cfg = source(kids, "a", "b", "none", labels={"team": "core"})
    c = ProcessCollector(cfg)
    first = c.collect()
    assert {s.metric for s in first} == ALWAYS  # no CPU rate on the first tick
    assert by_group(first, "process_group_processes") == {"a": 3, "b": 1, "none": 0}
    assert by_group(first, "process_group_up") == {"a": 1, "b": 1, "none": 0}
    for s in first:
        group = dict(s.labels)["group"]
        assert s.labels == labels_of(team="core", group=group, source="procs", host=socket.gethostname())
    other_host = ProcessCollector(source(kids, "a", labels={"host": "web-1"}), host_name="ignored")
    assert dict(other_host.collect()[0].labels) == {"group": "a", "host": "web-1", "source": "procs"}
    a, none = metrics_of(first, "a"), metrics_of(first, "none")
    assert a["process_group_resident_memory_bytes"] > 3 * 2**20  # a few MiB per Python
    assert a["process_group_threads"] >= 3 and a["process_group_open_fds"] >= 9
    assert a["process_group_cpu_seconds_total"] > 0  # their start-up, counted once
    assert a["process_group_restarts_total"] == 0
    assert none == dict.fromkeys(ALWAYS, 0)  # matching nothing is not an error
    assert c.health.state == "up" and c.health.extra["partial_errors"] == {}
    time.sleep(0.2)
    second = c.collect()
    assert {s.metric for s in second} == ALWAYS | {"process_group_cpu_usage_cores"}
    usage = by_group(second, "process_group_cpu_usage_cores")
    assert usage["none"] == 0 and 0 <= usage["a"] < 0.5  # sleepers
    total = by_group(second, "process_group_cpu_seconds_total")
    assert total["a"] >= a["process_group_cpu_seconds_total"]
    keys = [(s.metric, s.labels) for s in second]
    assert len(keys) == len(set(keys))


def test_cpu_usage_follows_a_busy_process(kids: Children) -> None:
    kids.start("busy", 1, BUSY)
    kids.start("idle", 1)
    c = ProcessCollector(source(kids, "busy", "idle"))
    before = by_group(c.collect(), "process_group_cpu_seconds_total")
    time.sleep(1.0)
    after = c.collect()
    usage = by_group(after, "process_group_cpu_usage_cores")
    total = by_group(after, "process_group_cpu_seconds_total")
    assert 0.2 < usage["busy"] <= 1.1, usage  # one spinning thread (2 shared cores here)
    assert usage["idle"] < 0.05
    assert total["busy"] - before["busy"] == pytest.approx(usage["busy"] * 1.0, rel=0.3)


def test_pid_cache_kill_start_restart_and_walk_cadence(kids: Children) -> None:
    ps, mono = Wrapped(), FakeClock(1000.0)
    c = ProcessCollector(
        source(kids, "a", interval_s=15, rescan_interval_s=60), psutil_module=ps, monotonic=mono
    )
    procs = kids.start("a", 3)

    def tick(advance: float = 15) -> dict[str, float]:
        mono.advance(advance)
        return metrics_of(c.collect(), "a")

    assert tick(0)["process_group_processes"] == 3 and ps.calls["process_iter"] == 1
    kids.stop(procs[0])
    m = tick()
    assert m["process_group_processes"] == 2 and m["process_group_restarts_total"] == 0
    kids.stop(procs[1], reap=False)  # a zombie is an exited server
    assert tick()["process_group_processes"] == 1
    kids.start("a", 2)
    m = tick()  # t=45: no walk yet, so the new ones are not seen
    assert m["process_group_processes"] == 1 and m["process_group_restarts_total"] == 0
    assert ps.calls["process_iter"] == 1
    m = tick()  # t=60: the walk finds both; each replaces a lost one
    assert m["process_group_processes"] == 3 and m["process_group_restarts_total"] == 2
    assert ps.calls["process_iter"] == 2
    for _ in range(12):  # 3 minutes more: one walk a minute, not one a tick
        m = tick()
    assert ps.calls["process_iter"] == 5 and c.health.extra["process_walks"] == 5
    assert m["process_group_processes"] == 3 and m["process_group_restarts_total"] == 2
    kids.start("a", 1)
    for _ in range(4):
        m = tick()
    assert m["process_group_processes"] == 4  # growth without a loss is no restart
    assert m["process_group_restarts_total"] == 2


def test_a_replacement_after_the_restart_window_is_no_restart(kids: Children) -> None:
    mono = FakeClock(0.0)
    cfg = source(kids, "a", interval_s=10, rescan_interval_s=10, restart_window_s=30)
    c = ProcessCollector(cfg, monotonic=mono)
    (p,) = kids.start("a", 1)
    assert metrics_of(c.collect(), "a")["process_group_processes"] == 1
    kids.stop(p)
    mono.advance(10)
    assert metrics_of(c.collect(), "a")["process_group_up"] == 0
    mono.advance(40)  # the session ended; a new one starts later than the window
    kids.start("a", 1)
    m = metrics_of(c.collect(), "a")
    assert m["process_group_processes"] == 1 and m["process_group_restarts_total"] == 0
    assert ProcessSource(name="p", groups=[{"name": "g", "pattern": "x"}]).restart_window == 300


def test_the_collectors_own_process_is_never_matched(kids: Children) -> None:
    marker = kids.marker("self")
    kids.start("self", 1)
    code = (
        "import json, sys\n"
        "from collectors.process import ProcessCollector\n"
        "from core.kernel.settings.sources import ProcessSource\n"
        f"cfg = ProcessSource(name='s', groups=[{{'name': 'g', 'pattern': {marker!r}}}])\n"
        "print(json.dumps([s.value for s in ProcessCollector(cfg).collect()"
        " if s.metric == 'process_group_processes']))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code, marker], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [1]  # the sleeping child, not the collecting process itself
    mine = ProcessCollector(ProcessSource(name="s", groups=[{"name": "g", "pattern": marker}]))
    assert by_group(mine.collect(), "process_group_processes") == {"g": 1}


def test_processes_vanishing_between_listing_and_reading_never_fail_a_collect(kids: Children) -> None:
    doomed = kids.start("a", 2)
    kids.start("a", 1)
    victims = {doomed[0].pid}

    def vanish(p: psutil.Process) -> None:
        if p.pid in victims:
            victims.discard(p.pid)
            kids.stop(doomed[0])

    fail: dict[int, dict[str, type[Exception]]] = {
        doomed[1].pid: {"memory_info": psutil.ZombieProcess},
    }
    c = ProcessCollector(source(kids, "a"), psutil_module=Wrapped(fail, vanish))
    m = metrics_of(c.collect(), "a")
    assert m["process_group_processes"] == 1  # one killed after listing, one a zombie on read
    assert c.health.state == "up"
    assert m["process_group_restarts_total"] == 0  # never read, so never lost


def test_gone_and_reused_pids_and_every_read_error_are_handled(kids: Children) -> None:
    procs = kids.start("a", 4)
    fail: dict[int, dict[str, type[Exception]]] = {
        procs[0].pid: {"cpu_times": psutil.NoSuchProcess},
        procs[1].pid: {"is_running": psutil.NoSuchProcess},
        procs[2].pid: {"num_threads": psutil.ZombieProcess},
    }
    c = ProcessCollector(source(kids, "a"), psutil_module=Wrapped(fail))
    m = metrics_of(c.collect(), "a")
    assert m["process_group_processes"] == 1 and set(m) == ALWAYS


def test_access_denied_drops_only_that_field_and_degrades(kids: Children) -> None:
    a = kids.start("a", 3)
    kids.start("b", 1)
    fail: dict[int, dict[str, type[Exception]]] = {a[1].pid: {"num_fds": psutil.AccessDenied}}
    c = ProcessCollector(source(kids, "a", "b"), psutil_module=Wrapped(fail))
    samples = c.collect()
    ma, mb = metrics_of(samples, "a"), metrics_of(samples, "b")
    assert set(ma) == ALWAYS - {"process_group_open_fds"}  # no sum over part of the group
    assert ma["process_group_processes"] == 3 and ma["process_group_resident_memory_bytes"] > 0
    assert set(mb) == ALWAYS
    assert c.health.ok and c.health.state == "degraded"
    err = c.health.extra["partial_errors"]
    assert list(err) == ["a"]
    assert f"open_fds not read for 1 of 3 process(es): pid {a[1].pid} (AccessDenied)" in err["a"]
    assert "run Pulse as the processes' user" in err["a"]


def test_a_failing_walk_fails_the_first_collect_and_degrades_later_ones(
    kids: Children, scheduled: Scheduled
) -> None:
    """Run by the real scheduler, which books the health the states come from."""
    kids.start("a", 2)
    ps, mono = Wrapped(), FakeClock(0.0)
    ps.broken_walk = PermissionError("/proc is not readable")
    c = ProcessCollector(source(kids, "a", rescan_interval_s=30), psutil_module=ps, monotonic=mono)
    assert scheduled(c) == [] and isinstance(scheduled.error, CollectorError)
    assert re.search("cannot list the processes.*check that /proc", str(scheduled.error))
    assert not c.health.ok and c.health.consecutive_failures == 1
    assert c.health.last_error == str(scheduled.error)
    ps.broken_walk = None
    assert metrics_of(scheduled(c), "a")["process_group_processes"] == 2
    ps.broken_walk = OSError("boom")
    mono.advance(30)
    m = metrics_of(scheduled(c), "a")
    assert m["process_group_processes"] == 2  # the cached processes are still read
    assert c.health.ok and c.health.state == "degraded"
    assert "OSError: boom" in c.health.extra["partial_errors"]["rescan"]
    ps.broken_walk = None
    mono.advance(15)  # a failed walk is retried at the next tick
    scheduled(c)
    assert c.health.state == "up" and ps.calls["process_iter"] == 4


def test_settings_reserve_the_group_label_and_bound_the_restart_window() -> None:
    g = [{"name": "g", "pattern": "x"}]
    with pytest.raises(ValueError, match="'group', 'source' are set by the process source"):
        ProcessSource(name="p", groups=g, labels={"source": "x", "group": "x", "team": "t"})
    with pytest.raises(ValueError, match="restart_window_s \\(30\\) must be at least rescan_interval_s"):
        ProcessSource(name="p", groups=g, rescan_interval_s=60, restart_window_s=30)
    assert ProcessSource(name="p", groups=g, rescan_interval_s=60, restart_window_s=60).restart_window == 60


def test_cli_sources_test_prints_ok_and_samples(
    kids: Children, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from core.cli import main

    for key in [k for k in os.environ if k.startswith("PULSE_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    kids.start("mcp-files", 2)
    group = {"name": "mcp-files", "pattern": re.escape(kids.marker("mcp-files"))}
    monkeypatch.setenv("PULSE_SOURCES", json.dumps([{"kind": "process", "name": "local", "groups": [group]}]))
    assert main(["sources", "list"]) == 0
    assert "1 process group(s)" in capsys.readouterr().out
    assert main(["sources", "test", "local"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^local \(process\): OK in [\d.]+s, 7 samples$", out, re.M), out
    labels = f'group="mcp-files",host="{socket.gethostname()}",source="local"'
    assert f"process_group_processes{{{labels}}} 2" in out
    assert f"process_group_up{{{labels}}} 1" in out
