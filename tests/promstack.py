"""Debian's Prometheus, node-exporter and Alertmanager as child processes on loopback ports.

Started by fixtures (tests/collectors/conftest.py and later ones) with temporary data folders;
a missing binary fails the run in CI and skips locally (``require_binary``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

PROMETHEUS = "/usr/bin/prometheus"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
PROMTOOL = "/usr/bin/promtool"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_binary(path: str, package: str) -> None:
    """A missing component: fail in CI, skip locally, naming the Debian package."""
    if os.access(path, os.X_OK):
        return
    msg = f"{path} is missing: apt-get install {package} (tests/run.sh installs it)"
    if in_ci():
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout_s: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:g}s: {last}")


class Managed:
    """One child process that can be stopped and started again with the same arguments and port."""

    def __init__(self, argv: list[str], ready_url: str, log: Path) -> None:
        self.argv, self.ready_url, self.log = argv, ready_url, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_http(self.ready_url, proc=self.proc)
        except RuntimeError as exc:
            self.stop()
            tail = self.log.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"{exc}\n--- {self.log.name} ---\n{tail}") from exc

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class NodeExporter(Managed):
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [
            NODE_EXPORTER,
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--no-collector.systemd",
            "--collector.disable-defaults",
            *(f"--collector.{c}" for c in ("cpu", "meminfo", "loadavg", "filesystem", "netdev", "diskstats")),
        ]
        super().__init__(argv, f"{self.url}/metrics", root / "node-exporter.log")


class Prometheus(Managed):
    """Prometheus scraping ``targets`` (host:port) every second; restartable on the same data."""

    def __init__(self, root: Path, targets: list[str], scrape_interval: str = "1s") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = root / "prometheus-data"
        self.data.mkdir(parents=True, exist_ok=True)
        config = root / "prometheus.yml"
        quoted = ", ".join(f"'{t}'" for t in targets)
        config.write_text(
            f"global:\n  scrape_interval: {scrape_interval}\n  evaluation_interval: {scrape_interval}\n"
            f"scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [{quoted}]\n"
        )
        argv = [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.data}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--rules.alert.resend-delay=1s",
            "--storage.tsdb.retention.time=1d",
        ]
        super().__init__(argv, f"{self.url}/-/ready", root / "prometheus.log")

    def wait_for_data(self, query: str = "up", timeout_s: float = 30.0) -> None:
        """Until an instant query returns a series (the first scrapes have landed)."""
        import json
        import urllib.parse

        deadline = time.monotonic() + timeout_s
        url = f"{self.url}/api/v1/query?query={urllib.parse.quote(query)}"
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError), urllib.request.urlopen(url, timeout=2) as resp:
                if json.load(resp)["data"]["result"]:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"Prometheus at {self.url} returned no series for {query!r} in {timeout_s:g}s")


def cleanup(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


class Alertmanager(Managed):
    """Alertmanager with clustering off and one receiver that sends nothing; restartable on its data."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = root / "alertmanager-data"
        self.data.mkdir(parents=True, exist_ok=True)
        config = root / "alertmanager.yml"
        config.write_text(
            "route:\n  receiver: blackhole\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
            "receivers:\n  - name: blackhole\n"
        )
        argv = [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={self.data}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
        ]
        super().__init__(argv, f"{self.url}/-/ready", root / "alertmanager.log")

    def alerts(self, **params: str) -> list[dict[str, object]]:
        """``GET /api/v2/alerts``: the active alerts as Alertmanager sees them."""
        import json
        import urllib.parse

        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts{query}", timeout=5) as resp:
            return list(json.load(resp))
