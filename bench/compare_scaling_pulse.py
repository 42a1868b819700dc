"""Pulse's two phases of ``python -m bench compare --scaling``, each in a child process of its own,
so that its peak RSS is that phase's alone. The child reports its VmHWM (/proc/self/status) as it
ends: ``ru_maxrss`` of getrusage or ``os.wait4`` would not do, because Linux carries a process'
maxrss across exec, so a child of the bench process starts at the bench's own RSS (200-250 MB).

``ingest``: the seeded dataset generated 15 minutes at a time and written with ``Store.write`` in
batches of 100,000 samples, then ``compact()`` once (rollups, raw chunks, rollup chunks, free
pages given back), as ``pulse demo`` backfills; it reports the seconds of write + compact
(generating the samples is not counted, its memory is) and the bytes on disk.
``serve``: that store opened again and Pulse's Prometheus API served on loopback until stdin
closes; the queries come from the parent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.compare_data import DAY_MS, Dataset
from bench.procstat import peak_rss_bytes

SLICE_MS = 900_000  # 15 minutes of every series at a time: 10,000 series x 60 scrapes (~110 MB to generate)
BATCH = 100_000  # samples per Store.write
ROOT = Path(__file__).resolve().parents[1]


def ingest(folder: Path, hosts: int, hours: float, end_ms: int) -> dict[str, float]:
    from bench.compare import pulse_settings
    from core.storage.tsdb import open_store

    data = Dataset(hosts=hosts, days=hours * 3_600_000 / DAY_MS, end_ms=end_ms)
    store = open_store(pulse_settings(folder))
    write_s = 0.0
    for batch in data.sample_batches(SLICE_MS, BATCH):
        t0 = time.perf_counter()
        store.write(batch)
        write_s += time.perf_counter() - t0
    peak_write = peak_rss_bytes()
    t0 = time.perf_counter()
    store.compact()
    compact_s = time.perf_counter() - t0
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    size = sum(p.stat().st_size for p in folder.glob("pulse.db*"))
    return {
        "write_s": write_s,
        "compact_s": compact_s,
        "bytes": size,
        "peak_write_bytes": peak_write,
        "peak_bytes": peak_rss_bytes(),
    }


def serve(folder: Path) -> None:
    from bench.compare import pulse_settings
    from core.runtime.promapi import start_api
    from core.storage.tsdb import open_store

    store = open_store(pulse_settings(folder))
    server = start_api(store.settings.api, store, None)
    try:
        print(json.dumps({"url": server.url}), flush=True)
        sys.stdin.read()  # until the parent closes it
    finally:
        server.stop()
        store.close()
    print(json.dumps({"peak_bytes": peak_rss_bytes()}), flush=True)


@dataclass
class Child:
    """A phase in a child process: JSON lines on its stdout, the last one with its peak RSS."""

    proc: subprocess.Popen[str]
    kind: str
    peak_bytes: int = 0

    @classmethod
    def start(cls, *args: object) -> Child:
        argv = [sys.executable, "-m", "bench.compare_scaling_pulse", *map(str, args)]
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": path},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return cls(proc, str(args[0]))

    def reply(self) -> dict[str, object]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"{self.proc.args!r} exited with {code} before answering")
        found = dict(json.loads(line))
        self.peak_bytes = int(found.get("peak_bytes", self.peak_bytes))
        return found

    def finish(self) -> int:
        """Close its stdin, read its last report, wait for it: its peak RSS in bytes."""
        if self.proc.returncode is not None:
            return self.peak_bytes
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        if self.kind == "serve":  # its report comes as it ends
            self.reply()
        if self.proc.wait(60):
            raise RuntimeError(f"{self.proc.args!r} exited with {self.proc.returncode}")
        return self.peak_bytes


def run_ingest(folder: Path, data: Dataset) -> dict[str, float]:
    """The ingest phase in a child: ``ingest``'s report (peak_bytes: the child's peak RSS)."""
    child = Child.start("ingest", folder, data.hosts, data.days * 24, data.end_ms)
    report = {k: float(v) for k, v in child.reply().items()}  # type: ignore[arg-type]
    child.finish()
    return report


@contextmanager
def serving(folder: Path) -> Iterator[tuple[str, Child]]:
    """Pulse's API on the store in ``folder``, in a child: its URL; the child's peak RSS is set
    (``Child.peak_bytes``) when the block ends."""
    child = Child.start("serve", folder)
    try:
        yield str(child.reply()["url"]), child
    finally:
        child.finish()


def main(argv: list[str]) -> int:
    from core.kernel.malloc import tune_malloc

    tune_malloc()  # as the daemon (core.cli.main) does
    if argv[:1] == ["ingest"]:
        report = ingest(Path(argv[1]), int(argv[2]), float(argv[3]), int(argv[4]))
        print(json.dumps(report), flush=True)
        return 0
    if argv[:1] == ["serve"]:
        serve(Path(argv[1]))
        return 0
    print("usage: python -m bench.compare_scaling_pulse ingest FOLDER HOSTS HOURS END_MS | serve FOLDER")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
