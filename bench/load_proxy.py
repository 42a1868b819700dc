"""Several dashboard processes behind HAProxy on one port, for ``bench load --ui-processes N``.

Each ``streamlit run app.py`` keeps its sessions (the script runs, session state, the sign-in's
session id) and its media files in its own memory, so a browser must reach the same process for
its page, its websocket and its downloads: HAProxy inserts a cookie (``PULSE_UI``) on the first
response and routes every later request carrying it to that process. The websocket is a tunnel
once upgraded: ``timeout tunnel`` keeps an idle session open (the frontend sends no traffic
between clicks). The same configuration is in docs/operator-guide.md.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from bench import stack

CONFIG = """global
    maxconn 4096

defaults
    mode http
    option forwardfor
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 30s
    timeout tunnel 1h

frontend pulse
    bind 127.0.0.1:{port}
    default_backend dashboard

backend dashboard
    balance roundrobin
    cookie PULSE_UI insert indirect nocache httponly
    option httpchk GET /_stcore/health
{servers}
"""


def config(port: int, backends: list[str]) -> str:
    """The configuration for ``backends`` (``host:port`` each) behind 127.0.0.1:``port``."""
    servers = "\n".join(
        f"    server ui{i} {b} cookie ui{i} check inter 5s" for i, b in enumerate(backends, 1)
    )
    return CONFIG.format(port=port, servers=servers)


def haproxy() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")
    if not found:
        raise SystemExit(
            "bench load --ui-processes N needs HAProxy in front of the dashboards: "
            "install it (Debian: apt-get install haproxy) or run with --ui-processes 1"
        )
    return found


def start(folder: Path, backends: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    """HAProxy (foreground, its config and log in ``folder``) once it answers: (process, base URL)."""
    binary, port = haproxy(), stack.free_port()
    cfg = folder / "haproxy.cfg"
    cfg.write_text(config(port, backends))
    check = subprocess.run([binary, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"haproxy refused {cfg}: {check.stderr or check.stdout}")
    log = folder / "haproxy.log"
    proc = subprocess.Popen(
        [binary, "-db", "-f", str(cfg)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, base
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stack.stop(proc)
            raise RuntimeError(f"haproxy did not answer: {log.read_text(errors='replace')[-1500:]}")
        time.sleep(0.3)
