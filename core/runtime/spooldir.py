"""The spool folder: numbered, fsynced files of samples waiting for the store, oldest first.

:class:`core.runtime.spool.BufferedWriter` decides when samples go to disk; this class owns the
files: their numbering (name order is age order), writing one atomically (temporary name, fsync,
rename), and what a start finds (an unfinished spill salvaged, an unreadable file set aside as
``*.bad``, the staged files of a collection a stopped process did not commit removed). File format:
:mod:`core.runtime.spoolfile`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.kernel.files import private_dir
from core.kernel.samples import Sample
from core.runtime.spoolfile import SpoolStats, read_file, salvage, write_file

if TYPE_CHECKING:
    from core.runtime.selfmetrics import SelfMetrics

log = logging.getLogger("core.runtime.spool")  # one logger for the writer and its files


class SpoolDir:
    """The spool files of one writer: ``files`` maps each to its sample count, in age order."""

    def __init__(
        self,
        path: Path,
        stats: SpoolStats,
        metrics: SelfMetrics | None = None,
    ) -> None:
        self.path, self.stats, self.metrics = Path(path), stats, metrics
        self.on_change: Callable[[], None] = lambda: None  # the owner's gauge, set once it is built
        private_dir(self.path)
        self.lock = threading.Lock()  # the files and their numbering; never held for a database call
        self.error: str | None = None  # the last spool write failure, until one succeeds
        self.told = False  # the first spill of a condition is logged, later ones counted
        self.files: dict[Path, int] = {}
        self.staged: set[Path] = set()  # adopted from a collection's stage: drained after the rest
        for path_ in sorted(self.path.glob("spool-*.jsonl")):
            try:
                self.files[path_] = read_file(path_, body=False)[0]
            except (OSError, ValueError) as exc:
                self.set_aside(path_, str(exc))
        self._seq = 1 + max((int(p.stem[6:]) for p in self.files if p.stem[6:].isdigit()), default=0)
        for tmp in sorted(self.path.glob("*.tmp")):
            self._salvage(tmp)
        for staged in sorted(self.path.glob("stage-*.staged")):  # never committed: rolled back
            log.info("removing %s, the samples of a collection a stopped process did not finish", staged)
            with contextlib.suppress(OSError):
                staged.unlink()

    def count(self) -> int:
        """Samples in spool files (lock-free: ``list`` of a dict's values is atomic in CPython)."""
        return sum(list(self.files.values()))

    def oldest_first(self) -> list[Path]:
        with self.lock:
            return list(self.files)

    def unstaged_first(self) -> list[Path]:
        """Spool files that are not a big collection's staged files (outage spills), oldest first."""
        with self.lock:
            return [p for p in self.files if p not in self.staged]

    def unstaged_count(self) -> int:
        """Samples in the spool files that are not a big collection's staged files."""
        with self.lock:
            return sum(n for p, n in self.files.items() if p not in self.staged)

    def next_staged(self) -> Path | None:
        """The oldest file adopted from a collection's stage, if any."""
        with self.lock:
            return next((p for p in self.files if p in self.staged), None)

    def done(self, path: Path) -> int:
        """``path`` was written to the store: forget and delete it; returns its sample count."""
        with self.lock:
            n = self.files.pop(path)
            self.staged.discard(path)
        try:
            path.unlink()
        except OSError as exc:  # written already; a restart would replay it, which upserts
            log.error("cannot delete written spool file %s: %s", path, exc)
        return n

    def adopt(self, files: Sequence[tuple[Path, int]]) -> None:
        """Take spool-format files (path, sample count) written elsewhere in the folder, in order."""
        with self.lock:
            for path, n in files:
                dest = self.path / f"spool-{self._seq:012d}.jsonl"
                os.replace(path, dest)
                self._seq += 1
                self.files[dest] = n
                self.staged.add(dest)

    def write(self, samples: list[Sample], busy: bool = False) -> bool:
        """One fsynced spool file holding ``samples``; False (counted, logged once) if it failed.
        ``busy``: the store did not fail, a write is waiting on it (a lock, maintenance)."""
        n = len(samples)
        with self.lock:
            path = self.path / f"spool-{self._seq:012d}.jsonl"
            tmp = path.with_name(path.name + ".tmp")
            try:
                write_file(tmp, samples)
                os.replace(tmp, path)
            except OSError as exc:  # disk full or read-only: the caller keeps the samples in memory
                self._write_failed(n, path, exc)
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
                return False
            if self.error is not None:
                log.warning("spool writes work again after %d failure(s)", self.stats.spill_failures)
                self.error = None
            self._seq += 1
            self.files[path] = n
            self.stats.spilled += n
            told, self.told = self.told, True
        if self.metrics is not None:
            self.metrics.spooled_samples.inc(n)
        if told:
            log.debug("spilled %d buffered samples to %s", n, path)
        elif busy:
            log.info(
                "a write is waiting for the database: %d samples spilled to %s meanwhile "
                "(written when it answers; later spills are counted, not logged)",
                n,
                path,
            )
        else:  # the first spill of an outage is told; later ones are counted
            log.warning("spilled %d buffered samples to %s (later spills are counted, not logged)", n, path)
        return True

    def _write_failed(self, n: int, path: Path, exc: OSError) -> None:
        self.stats.spill_failures += 1
        if self.metrics is not None:
            self.metrics.spool_write_failures.inc()
        if self.error is None:  # once per condition, not on every retry
            log.error(
                "cannot write %d samples to the spool %s: %s; they stay in memory only "
                "(counted in pulse_spool_write_failures_total) until a spool write succeeds",
                n,
                path,
                exc,
            )
        self.error = str(exc)

    def _salvage(self, tmp: Path) -> None:
        """A spill a killed process did not finish: its whole lines go to a new spool file (they were
        only in that process's memory); a file whose header cannot be read is set aside."""
        try:
            samples = salvage(tmp)
        except (OSError, ValueError) as exc:
            self.set_aside(tmp, f"unfinished spill from a crashed process: {exc}")
            return
        if samples and not self.write(samples):
            self.set_aside(tmp, "unfinished spill from a crashed process; cannot write its samples again")
            return
        log.warning(
            "recovered %d samples from %s, a spill a stopped process did not finish", len(samples), tmp
        )
        with contextlib.suppress(OSError):
            tmp.unlink()

    def set_aside(self, path: Path, reason: str) -> None:
        bad = path.with_name(path.name + ".bad")
        log.error("spool file %s is unreadable (%s); moving it aside to %s", path, reason, bad)
        try:
            os.replace(path, bad)
        except OSError as exc:
            log.error("cannot move %s aside: %s", path, exc)
        with self.lock:
            self.files.pop(path, None)
            self.staged.discard(path)
        self.stats.set_aside += 1
        self.on_change()
