"""The allocator tuning: taken by glibc here, skipped when turned off, and every entry point that
serves queries (the ``pulse`` command) applies it."""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib

import pytest

from core.kernel import malloc


def test_glibc_takes_both_thresholds() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    assert hasattr(libc, "mallopt"), "CI runs on glibc (Debian): mallopt must be there"
    assert malloc.tune_malloc() is True


def test_turned_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_MALLOC_TUNE", "0")
    assert malloc.tune_malloc() is False


def test_the_pulse_command_tunes_before_anything_else(monkeypatch: pytest.MonkeyPatch) -> None:
    cli = importlib.import_module("core.cli.main")  # the module (the package exports the function)

    calls: list[str] = []
    monkeypatch.setattr(cli, "tune_malloc", lambda: calls.append("tuned") or True)
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert calls == ["tuned"]
