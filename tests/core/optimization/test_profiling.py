"""Profiles of a real busy Python process and of a real MCP server under load (py-spy by PID) and
of in-process code (pyinstrument):
the hot function comes out on top; the formats round-trip; a process that cannot be profiled says why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.mcp_probe import McpProbeCollector
from core.cli import main
from core.optimization.flame import flame_figure
from core.optimization.profiles import Profile, folded, from_speedscope, to_speedscope, top_functions
from core.optimization.profiling import ProfilingError, profile_call, record_pid
from tests.collectors.mcp_servers import PY, source, value
from tests.collectors.mcp_servers import _wait_listening as wait_listening
from tests.conftest import in_ci
from tests.promstack import free_port

BUSY = Path(__file__).with_name("busy_server.py")
MCP_BUSY = Path(__file__).with_name("mcp_busy_server.py")


def require_pyspy() -> None:
    if shutil.which("py-spy") is None:
        if in_ci():
            pytest.fail("py-spy is required in CI (pip install -e '.[test]')", pytrace=False)
        pytest.skip("py-spy is not installed")


@pytest.fixture
def busy() -> Iterator[int]:
    require_pyspy()
    proc = subprocess.Popen([sys.executable, str(BUSY), "60"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_pyspy_finds_the_hot_function_of_a_busy_process(busy: int) -> None:
    profile = record_pid(busy, duration_s=2, rate=100)
    # py-spy weighs each sample 1/rate seconds: about 2 s of samples, minus its start-up
    assert profile.unit == "seconds" and 1.0 <= profile.total <= 2.5
    top = top_functions(profile, 5)
    assert top["function"][0].startswith("burn_cpu_hot (") and top["self_pct"][0] > 60
    main_row = top_functions(profile, 50).filter(
        top_functions(profile, 50)["function"].str.starts_with("main (")
    )
    assert main_row["total_pct"][0] > 95 and main_row["self_pct"][0] < 5  # every sample runs under main()


def test_pyspy_finds_the_hot_function_of_a_real_mcp_server_under_load() -> None:
    """The issue's gate: a real Python MCP server (official SDK, streamable HTTP) kept busy by
    Pulse's own MCP probe calling its tool, profiled by PID; its hottest function comes first."""
    require_pyspy()
    port = free_port()
    proc = subprocess.Popen(
        [PY, str(MCP_BUSY), str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    stop = threading.Event()
    calls: list[float] = []

    def load() -> None:
        cfg = source(
            {"name": "busy", "transport": "http", "url": f"http://127.0.0.1:{port}/mcp",
             "tool_call": {"name": "crunch", "arguments": {"limit": 20_000}}},
        )  # fmt: skip
        probe = McpProbeCollector(cfg)
        while not stop.is_set():
            calls.append(value(probe.collect(), "mcp_server_up"))

    workers = [threading.Thread(target=load) for _ in range(2)]
    try:
        wait_listening(proc, port)
        for w in workers:
            w.start()
        time.sleep(1.0)  # the load is on
        profile = record_pid(proc.pid, duration_s=3, rate=100)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=30)
        proc.terminate()
        proc.wait(10)
    assert calls and set(calls) == {1.0}, calls  # every probe found the server up, its tool answered
    top = top_functions(profile, 5)
    assert top["function"][0].startswith("crunch_primes ("), top


def test_processes_that_cannot_be_profiled_say_why(tmp_path: Path) -> None:
    require_pyspy()
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(ProfilingError, match=r"it is not a Python process"):
            record_pid(sleeper.pid, duration_s=1)
    finally:
        sleeper.kill()
        sleeper.wait()
    with pytest.raises(ProfilingError, match=r"no such process"):
        record_pid(sleeper.pid, duration_s=1)  # reaped: gone
    with pytest.raises(ProfilingError, match=r"duration 0s: must be above 0"):
        record_pid(os.getpid(), duration_s=0)


def burn_here() -> int:
    return sum(i * i % 7 for i in range(400_000))


def test_pyinstrument_profiles_in_process_code() -> None:
    result, profile = profile_call(burn_here)
    assert result == burn_here() and profile.unit == "seconds"
    assert profile.total == pytest.approx(profile.duration_s, rel=0.5)
    names = top_functions(profile, 50)
    row = names.filter(names["function"].str.starts_with("burn_here ("))
    assert row.height == 1 and row["total_pct"][0] > 80


def test_speedscope_folded_and_flame_graph_agree() -> None:
    p = Profile(
        {
            ("main (a.py:1)", "hot (a.py:5)"): 8.0,
            ("main (a.py:1)", "cold (a.py:9)"): 2.0,
            ("main (a.py:1)",): 1.0,
        },
        "samples",
        "t",
        1.0,
    )
    back = from_speedscope(json.loads(json.dumps(to_speedscope(p))), "t", 1.0)
    assert back.stacks == p.stacks
    assert folded(p).splitlines() == [
        "main (a.py:1) 1",
        "main (a.py:1);cold (a.py:9) 2",
        "main (a.py:1);hot (a.py:5) 8",
    ]
    top = top_functions(p)
    assert top.row(0, named=True) == {
        "function": "hot (a.py)",
        "self": 8.0,
        "self_pct": pytest.approx(800 / 11),
        "total": 8.0,
        "total_pct": pytest.approx(800 / 11),
    }
    assert top.filter(top["function"] == "main (a.py)")["total"][0] == 11.0
    icicle = flame_figure(p).data[0]
    values = dict(zip(icicle.ids, icicle.values, strict=True))
    assert values["main (a.py:1)"] == 11.0 and values["main (a.py:1);hot (a.py:5)"] == 8.0
    assert values[icicle.parents[1]] == 11.0  # the root carries the total
    with pytest.raises(ValueError, match="not a speedscope profile"):
        from_speedscope({"profiles": []}, "x", 1.0)


def test_pulse_profile_cli(busy: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "busy.json"
    assert main(["profile", "--pid", str(busy), "--duration", "2s", "--out", str(out), "--top", "3"]) == 0
    text = capsys.readouterr().out
    assert (
        text.index("burn_cpu_hot") < text.index("light_work")
        if "light_work" in text
        else "burn_cpu_hot" in text
    )
    doc = json.loads(out.read_text())
    assert doc["profiles"][0]["type"] == "sampled" and any(
        f["name"] == "burn_cpu_hot" for f in doc["shared"]["frames"]
    )
    flame = tmp_path / "flame.html"
    assert main(["profile", "--pid", str(busy), "--duration", "1s", "--out", str(flame)]) == 0
    assert "burn_cpu_hot" in flame.read_text()
    assert main(["profile", "--self", "--out", str(tmp_path / "self.txt"), "--", "sources", "list"]) == 0
    assert "pyinstrument main" in capsys.readouterr().out and (tmp_path / "self.txt").read_text()
    assert main(["profile", "--pid", str(busy), "--out", str(tmp_path / "x.svg")]) == 2
    assert main(["profile"]) == 2
    err = capsys.readouterr().err
    assert "must end in .json" in err and "give either --pid N" in err
