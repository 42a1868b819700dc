"""The default cAdvisor mapping, read through a real Prometheus scraping a small cAdvisor-format page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from collectors.prometheus import PrometheusCollector
from core.kernel.settings.sources.prometheus import PrometheusSource
from tests.promstack import PROMETHEUS, NodeExporter, Prometheus, require_binary

CPU_CORES = 0.25  # the container burns a quarter of a core
MCP = 'id="/docker/4f1c",image="mcp/fs:1.2",name="mcp-fs-1",container_label_team="core",container_label_session_id="s-42"'
IDLE = 'id="/docker/9a0b",image="mcp/echo:1",name="mcp-echo"'
ROOT = 'id="/",image="",name=""'


def cadvisor_page(seconds: float) -> bytes:
    """What cAdvisor serves at /metrics, cut down to the series the mapping reads."""
    return f"""# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{{cpu="total",{MCP}}} {CPU_CORES * seconds:.3f}
container_cpu_usage_seconds_total{{cpu="total",{IDLE}}} 1
container_cpu_usage_seconds_total{{cpu="total",{ROOT}}} {4 * seconds:.3f}
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{{{MCP}}} 52428800
container_memory_working_set_bytes{{{IDLE}}} 1048576
container_memory_working_set_bytes{{{ROOT}}} 8589934592
# TYPE container_spec_cpu_quota gauge
container_spec_cpu_quota{{{MCP}}} 50000
# TYPE container_spec_cpu_period gauge
container_spec_cpu_period{{{MCP}}} 100000
container_spec_cpu_period{{{IDLE}}} 100000
# TYPE container_spec_memory_limit_bytes gauge
container_spec_memory_limit_bytes{{{MCP}}} 268435456
container_spec_memory_limit_bytes{{{IDLE}}} 0
""".encode()


@pytest.fixture
def cadvisor() -> Iterator[int]:
    t0 = time.time()

    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = cadvisor_page(time.time() - t0)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield int(srv.server_address[1])
    srv.shutdown()
    srv.server_close()


def test_cadvisor_series_become_container_metrics_per_server(
    cadvisor: int, node_exporter: NodeExporter, tmp_path: Path
) -> None:
    require_binary(PROMETHEUS, "prometheus")
    prom = Prometheus(tmp_path, [f"127.0.0.1:{node_exporter.port}", f"127.0.0.1:{cadvisor}"])
    prom.start()
    try:
        prom.wait_for_data("rate(container_cpu_usage_seconds_total[2m])")
        time.sleep(5)  # rate() over a full window (it divides by the window, not the data)
        c = PrometheusCollector(
            PrometheusSource(name="prom", url=prom.url, interval_s=5, backfill_max_s=0, rate_window="4s")
        )
        samples = c.collect()
    finally:
        prom.stop()
    assert c.health.state == "up", c.health.extra["partial_errors"]
    got = {(s.metric, s.labels): s.value for s in samples if s.metric.startswith("container_")}
    fs = (("host", "127.0.0.1"), ("server", "mcp-fs-1"), ("session_id", "s-42"), ("team", "core"))
    echo = (("host", "127.0.0.1"), ("server", "mcp-echo"))
    assert got.pop(("container_cpu_usage_cores", fs)) == pytest.approx(CPU_CORES, rel=0.2)
    assert got.pop(("container_cpu_usage_cores", echo)) == 0
    assert got.pop(("container_memory_working_set_bytes", fs)) == 52428800
    assert got.pop(("container_memory_working_set_bytes", echo)) == 1048576
    assert got.pop(("container_cpu_limit_cores", fs)) == 0.5
    assert got.pop(("container_memory_limit_bytes", fs)) == 268435456
    assert got == {}  # the root cgroup (name="") and "no limit" (0, no quota) give nothing
    # host_up comes from node-exporter targets only, not from the cAdvisor one
    assert [s.value for s in samples if s.metric == "host_up"] == [1]
