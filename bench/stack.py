"""The processes the overhead and load benchmarks run: ``pulse collect``, the dashboard
(``streamlit run app.py``), users made with ``pulse users add``, and the daemon's own /metrics."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pulse_env(folder: Path, name: str, config: str = "", **extra: str) -> dict[str, str]:
    """A fresh SQLite store and data folder named ``name``, ``config`` as the settings file."""
    (folder / name).mkdir(parents=True, exist_ok=True)
    cfg = folder / name / "pulse.toml"
    cfg.write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    return env | {
        "PULSE_DATABASE_URL": f"sqlite:///{folder / name / 'pulse.db'}",
        "PULSE_DATA_DIR": str(folder / name / "data"),
        "PULSE_CONFIG": str(cfg),
        "PULSE_METRICS__PORT": str(free_port()),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **extra,
    }


def pulse(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pulse {' '.join(args)} failed: {done.stderr[-1000:] or done.stdout[-1000:]}")
    return done.stdout


def add_user(env: dict[str, str], name: str, role: str, teams: list[str], password: str) -> None:
    args = ["users", "add", name, "--role", role, "--password-stdin"]
    for team in teams:
        args += ["--team", team]
    pulse(env, *args, stdin=password + "\n")


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"{url} did not answer; log tail: {log.read_text(errors='replace')[-1500:]}")
        time.sleep(0.3)


def start_daemon(env: dict[str, str], folder: Path, timeout_s: float = 120) -> subprocess.Popen[bytes]:
    """``pulse collect``, once its /metrics answers."""
    log = folder / "collect.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "collect"],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _wait(f"http://127.0.0.1:{env['PULSE_METRICS__PORT']}/metrics", proc, log, timeout_s)
    return proc


def start_ui(
    env: dict[str, str], folder: Path, timeout_s: float = 120
) -> tuple[subprocess.Popen[bytes], str]:
    """``streamlit run app.py`` on a free loopback port: (process, base URL)."""
    port, log = free_port(), folder / "streamlit.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    _wait(f"{base}/_stcore/health", proc, log, timeout_s)
    return proc, base


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def scrape(port: str | int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The daemon's /metrics as {(sample name, sorted labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
