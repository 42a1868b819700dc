"""A ``pulse collect`` daemon as a child process, and what tests of daemons share: scraping its
/metrics, waiting for a condition, the samples stored and spooled, a database reached through a
proxy that can cut it. Used by tests/core/runtime and the fault suite (tests/faults)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from core.cli.main import ROOT
from core.kernel.samples import Labels, labels_of
from core.kernel.settings import load_settings
from core.storage.tsdb import Store, open_store
from tests.tcpproxy import TcpProxy

Scraped = dict[tuple[str, tuple[tuple[str, str], ...]], float]
FIRST_LINE = "pulse collect: collectors "


def scrape(url: str) -> Scraped:
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def wait_for(cond: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.1)


class Daemon:
    """``python -m core.cli collect ...`` as a child process; stdout read line by line in a thread."""

    def __init__(self, folder: Path, env: dict[str, str], *argv: str) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        self.log = folder / f"daemon-{time.monotonic_ns()}.log"
        self._err = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "collect", "--metrics-port", "0", *argv],
            cwd=ROOT,
            env={**clean, **env},
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        first = self.next_line(timeout=30)
        if not first.startswith(FIRST_LINE):
            self.kill()
            raise AssertionError(f"unexpected first line {first!r}\n{self.stderr()}")
        self.url = first.rsplit("metrics at ", 1)[1].strip()
        assert self.url.startswith("http://127.0.0.1:") and self.url.endswith("/metrics")
        assert int(self.url.split(":")[2].split("/")[0]) > 0  # the port the daemon picked

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.append(line)
            self.lines.put(line)

    def next_line(self, timeout: float) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise AssertionError(f"no output from the daemon within {timeout} s\n{self.stderr()}") from None

    def scrape(self) -> Scraped:
        return scrape(self.url)

    def value(self, name: str, **labels: str) -> float | None:
        return self.scrape().get((name, tuple(sorted(labels.items()))))

    def wait(self, timeout: float = 30) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the daemon did not stop within {timeout} s\n{self.stderr()}") from None
        time.sleep(0.1)  # let the reader thread take the last lines
        self._err.close()
        return rc

    def stdout(self) -> str:
        return "".join(self.out)

    def stderr(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.log.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons started by a test; killed after it if still running."""
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def sqlite_env(folder: Path, **extra: str) -> dict[str, str]:
    return {
        "PULSE_DATABASE_URL": f"sqlite:///{folder}/pulse.db",
        "PULSE_DATA_DIR": str(folder / "data"),
        **extra,
    }


def open_at(url: str) -> Store:
    return open_store(load_settings(database_url=url))


Key = tuple[str, Labels, int]


def stored(store: Store, metric: str, start_ms: int, end_ms: int) -> dict[Key, float]:
    """The raw samples of ``metric`` with start_ms <= ts < end_ms: (metric, labels, ts) -> value."""
    ser = store.series(metric)
    labels = {
        sid: labels_of(**lb) for sid, lb in zip(ser["id"].to_list(), ser["labels"].to_list(), strict=True)
    }
    df = store.raw(list(labels), start_ms, end_ms)
    return {
        (metric, labels[sid], ts): v
        for sid, ts, v in zip(
            df["series_id"].to_list(), df["ts"].to_list(), df["value"].to_list(), strict=True
        )
    }


def spooled(spool: Path) -> list[Key]:
    """(metric, labels, ts) of every sample in the spool files (complete files only)."""
    out = []
    for path in sorted(spool.glob("spool-*.jsonl")):
        lines = path.read_text().splitlines()
        assert json.loads(lines[0])["count"] == len(lines) - 1
        for line in lines[1:]:
            metric, labels, ts, _value = json.loads(line)
            out.append((metric, labels_of(**dict(labels)), ts))
    return out


def proxied(db_url: str) -> tuple[TcpProxy, str]:
    """A started TCP proxy in front of the PostgreSQL of ``db_url``, and the URL through it
    (``proxy.cut()`` is the outage, ``proxy.start()`` again its end)."""
    real = sa.make_url(db_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.start()
    return proxy, real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
