"""The fixed CPU-bound reference workload of ``bench overhead``: a process that repeats one unit of
pure-Python arithmetic and publishes how many units it finished in an 8-byte file.

Run ``python -m bench.overhead_workload FILE``; ``Workload`` starts and reads it."""

from __future__ import annotations

import mmap
import struct
import subprocess
import sys
from pathlib import Path

UNIT = 2_000  # one unit: the sum of squares below this (about 0.1-0.2 ms of one core)


def _unit() -> int:
    return sum(i * i for i in range(UNIT))


def main(path: str) -> None:
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), 8) as counter:
        done = 0
        while True:
            for _ in range(50):
                _unit()
            done += 50
            counter[:8] = struct.pack("<q", done)


class Workload:
    """The workload in its own process; ``units()`` reads its counter."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "workload.counter"
        self.path.write_bytes(b"\0" * 8)
        root = Path(__file__).resolve().parents[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.overhead_workload", str(self.path)], cwd=root
        )
        self._file = self.path.open("rb")
        self._map = mmap.mmap(self._file.fileno(), 8, access=mmap.ACCESS_READ)

    def units(self) -> float:
        return float(struct.unpack("<q", self._map[:8])[0])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._map.close()
        self._file.close()


if __name__ == "__main__":
    main(sys.argv[1])
