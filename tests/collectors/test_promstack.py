"""The fixtures themselves: the real Prometheus scrapes the real node-exporter, and restarts keep data."""

from __future__ import annotations

import json
import urllib.request

from tests.promstack import NodeExporter, Prometheus


def test_node_exporter_serves_its_metrics(node_exporter: NodeExporter) -> None:
    with urllib.request.urlopen(f"{node_exporter.url}/metrics", timeout=5) as resp:
        body = resp.read().decode()
    assert "node_cpu_seconds_total" in body and "node_memory_MemAvailable_bytes" in body


def test_prometheus_scrapes_node_exporter_and_survives_a_restart(prometheus: Prometheus) -> None:
    prometheus.stop()
    assert not prometheus.running
    prometheus.start()
    prometheus.wait_for_data("node_memory_MemTotal_bytes")
    url = f"{prometheus.url}/api/v1/query?query=count(node_cpu_seconds_total)"
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert int(json.load(resp)["data"]["result"][0]["value"][1]) > 0
