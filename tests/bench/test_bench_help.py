"""``python -m bench``'s help: before or after a benchmark's name, it prints the usage and runs nothing."""

from __future__ import annotations

import pytest

from bench.__main__ import main


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["load", "--help"], ["overhead", "--quick", "-h"]])
def test_help_prints_the_usage_and_runs_nothing(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m bench") and "bench load [--quick]" in out


def test_an_unknown_name_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nosuch"]) == 2
    assert "unknown benchmark(s) ['nosuch']" in capsys.readouterr().err
