"""Real components for the collector tests: node-exporter and Prometheus on loopback ports."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.promstack import NODE_EXPORTER, PROMETHEUS, NodeExporter, Prometheus, cleanup, require_binary


@pytest.fixture(scope="session")
def node_exporter() -> Iterator[NodeExporter]:
    """One node-exporter for the session (read-only: tests only scrape it)."""
    require_binary(NODE_EXPORTER, "prometheus-node-exporter")
    root = Path(tempfile.mkdtemp(prefix="pulse-node-exporter-"))
    ne = NodeExporter(root)
    ne.start()
    yield ne
    ne.stop()
    cleanup(root)


@pytest.fixture
def prometheus(node_exporter: NodeExporter, tmp_path: Path) -> Iterator[Prometheus]:
    """A fresh Prometheus per test scraping node-exporter every second (tests may stop/start it)."""
    require_binary(PROMETHEUS, "prometheus")
    prom = Prometheus(tmp_path, [f"127.0.0.1:{node_exporter.port}"])
    prom.start()
    prom.wait_for_data('up{job="node"} == 1')
    yield prom
    prom.stop()
