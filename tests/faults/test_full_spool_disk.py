"""Issue 15 item 4: the spool cannot be written (the file size limit of the process stands for a
full disk): each failure is counted on /metrics, logged once, and the stop message and the exit
status tell the truth (no "N kept" for samples that were not)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.cli.main import ROOT
from tests.daemons import proxied, scrape, wait_for

LIMIT_BYTES = 1000  # smaller than any spool file the host collector makes in 2 s


def _limit_file_size() -> None:  # in the child: writes past the limit fail with EFBIG (SIGXFSZ ignored)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, LIMIT_BYTES))


@pytest.mark.postgres
def test_spool_write_failures_are_counted_logged_once_and_told_at_stop(
    pg_schema_url: str, tmp_path: Path
) -> None:
    proxy, via_proxy = proxied(pg_schema_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env |= {
        "PULSE_DATABASE_URL": via_proxy,
        "PULSE_DATA_DIR": str(tmp_path / "data"),
        "PULSE_COLLECTORS": '["host"]',
        "PULSE_HOST__INTERVAL_S": "1",
    }
    proc = subprocess.Popen(  # stdout and stderr are pipes: the size limit does not apply to them
        [sys.executable, "-m", "core.cli", "collect", "--metrics-port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limit_file_size,
    )
    out: list[str] = []
    err: list[str] = []
    for stream, sink in ((proc.stdout, out), (proc.stderr, err)):
        threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True).start()
    try:
        wait_for(lambda: bool(out), timeout=60, what="the first line")
        url = out[0].rsplit("metrics at ", 1)[1].strip()
        wait_for(lambda: scrape(url).get(("pulse_samples_ingested_total", ()), 0) > 0, what="ingest")
        proxy.cut()
        wait_for(
            lambda: scrape(url).get(("pulse_spool_write_failures_total", ()), 0) >= 3,
            timeout=30,
            what="three failed spool writes",
        )
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
        time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
        proxy.cut()
    log = "".join(err)
    assert rc == 1, (rc, out, log)
    assert sum("cannot write" in line and "to the spool" in line for line in err) == 1, log
    stop = out[-1]
    assert "samples kept in" not in stop and "could not be written to the spool" in stop, stop
    assert "they are lost" in stop
    assert not list((tmp_path / "data" / "spool").glob("spool-*.jsonl"))
