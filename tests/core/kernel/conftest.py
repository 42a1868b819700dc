"""Fixtures of the kernel's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def pulse_free_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ``PULSE_*`` variable of the caller, and an empty working folder (no ``pulse.toml``)."""
    for key in list(os.environ):
        if key.startswith("PULSE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path
