"""Profiles of a real busy Python process (py-spy by PID) and of in-process code (pyinstrument):
the hot function comes out on top; the formats round-trip; a process that cannot be profiled says why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.cli import main
from core.optimization.flame import flame_figure
from core.optimization.profiles import Profile, folded, from_speedscope, to_speedscope, top_functions
from core.optimization.profiling import ProfilingError, profile_call, record_pid
from tests.conftest import in_ci

BUSY = Path(__file__).with_name("busy_server.py")


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
