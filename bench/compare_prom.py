"""The real Prometheus of ``python -m bench compare``: promtool backfill, serving, its own compaction."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.compare_data import Dataset
from bench.procstat import peak_rss_bytes
from tests.promstack import PROMETHEUS, PROMTOOL, Managed, free_port

NOT_DATA = {"queries.active", "lock"}  # Prometheus' query log and lock file: not samples

# A small Python that forks and execs the command and reports its wait4 ru_maxrss: Linux keeps a
# process' maxrss across exec, so a child forked straight from a large bench process would report
# at least that process' RSS; forked from this launcher (a few MB), the figure is the command's.
_LAUNCHER = """import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, time.perf_counter() - t0)
"""


def wait4_run(argv: list[str]) -> tuple[float, int]:
    """Run ``argv`` to completion: its seconds and its peak RSS in bytes (``os.wait4``'s
    ru_maxrss, taken by a small launcher); a non-zero exit raises with the end of its stderr."""
    with tempfile.TemporaryFile() as err:
        out = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, *argv],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            check=True,
        )
        code, maxrss_kb, seconds = out.stdout.split()
        if int(code):
            err.seek(0)
            raise RuntimeError(f"{argv[0]} exited with {code}: {err.read().decode(errors='replace')[-1500:]}")
    return float(seconds), int(maxrss_kb) * 1024


class PromServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "tsdb"
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Managed | None = None

    def backfill(self, data: Dataset) -> float:
        """Seconds promtool takes to turn the OpenMetrics files into blocks (writing the text not counted)."""
        files = data.write_openmetrics(self.root)
        took = 0.0
        for path in files:
            t0 = time.perf_counter()
            subprocess.run(
                [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "-q", str(path), str(self.data)],
                check=True,
                capture_output=True,
            )
            took += time.perf_counter() - t0
            path.unlink()
        return took

    def backfill_file(self, path: Path) -> tuple[float, int]:
        """promtool on one file: its seconds and its peak RSS in bytes (see ``wait4_run``)."""
        return wait4_run(
            [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "-q", str(path), str(self.data)]
        )

    def peak_rss(self) -> int:
        """The running server's peak resident memory in bytes (VmHWM of /proc/PID/status)."""
        assert self.proc is not None and self.proc.proc is not None
        return peak_rss_bytes(self.proc.proc.pid)

    def start(self) -> None:
        config = self.root / "prometheus.yml"
        config.write_text("global:\n  evaluation_interval: 1m\n")
        argv = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.data}"]
        argv += [f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=100y"]
        self.proc = Managed(argv, f"{self.url}/-/ready", self.root / "prometheus.log")
        self.proc.start()

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        out = {}
        for line in text.splitlines():
            m = re.match(r"^(prometheus_tsdb_[a-z_]+(?:\{[^}]*\})?) (\S+)$", line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    def wait_compacted(self, timeout_s: float = 900.0) -> float:
        """Wait for Prometheus' first compaction cycle (a minute after start) to finish; its seconds."""
        deadline = time.monotonic() + timeout_s
        stable_since, last = None, None
        while time.monotonic() < deadline:
            m = self.metrics()
            state = (
                m.get("prometheus_tsdb_compactions_total", 0),
                m.get("prometheus_tsdb_blocks_loaded", 0),
                m.get("prometheus_tsdb_reloads_total", 0),
            )
            if m.get("prometheus_tsdb_compactions_triggered_total", 0) >= 1:
                if state != last:
                    stable_since, last = time.monotonic(), state
                elif stable_since is not None and time.monotonic() - stable_since >= 4:
                    return m.get("prometheus_tsdb_compaction_duration_seconds_sum", 0.0)
            time.sleep(0.5)
        raise RuntimeError(f"Prometheus did not finish compacting within {timeout_s:g} s")

    def bytes_on_disk(self) -> int:
        return sum(p.stat().st_size for p in self.data.rglob("*") if p.is_file() and p.name not in NOT_DATA)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
