"""The ``differential`` marker: tests that compare the engine with a real Prometheus."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "differential: compares Pulse's PromQL with a real Prometheus")
