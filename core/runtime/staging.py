"""One collection's samples, staged until it succeeds: Prometheus commits a scrape's appender or
rolls it back, and so does Pulse, without holding a huge body's samples in memory.

A streaming collector (:class:`collectors.base.Streaming`, a scrape of a big body) hands its
samples over in batches while it parses. The stage holds up to ``chunk`` of them; each full chunk
goes to a file in the spool folder (``stage-*.staged``, spool format, fsynced), so memory stays
bounded whatever the body's size. :meth:`Stage.commit` gives the files to the writer as spool
files (drained one at a time, like any other) and queues the rest; :meth:`Stage.discard` deletes
them: a body that fails to parse or breaks a limit leaves nothing behind. A stage a killed daemon
left is deleted at the next start (rolled back). A collect() the scheduler abandoned as hung may
call :meth:`Stage.add` later: that raises, which ends the abandoned thread's work.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from core.kernel.samples import Sample
from core.runtime import spool
from core.runtime.spoolfile import write_file

if TYPE_CHECKING:
    from core.runtime.spool import BufferedWriter

log = logging.getLogger(__name__)
_numbers = itertools.count()


class StageClosed(Exception):
    """The collection was committed, discarded or abandoned: no more samples are taken."""


class Stage:
    """The samples of one collection run, not yet the writer's (see the module docstring)."""

    def __init__(self, writer: BufferedWriter, chunk: int | None = None) -> None:
        self.writer, self.chunk = writer, chunk or spool.CHUNK  # a spool file's worth at most
        self.held: list[Sample] = []
        self.files: list[tuple[Path, int]] = []
        self.closed = False
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        """Samples staged so far (held and in files)."""
        return len(self.held) + sum(n for _, n in self.files)

    def add(self, batch: list[Sample]) -> None:
        with self._lock:
            if self.closed:
                raise StageClosed("this collection is over (abandoned as hung?): its samples are not kept")
            self.held.extend(batch)
            if len(self.held) >= self.chunk:
                self._to_file()

    def _to_file(self) -> None:
        path = self.writer.spool_dir / f"stage-{os.getpid()}-{next(_numbers):012d}.staged"
        try:
            write_file(path, self.held)
        except OSError as exc:  # disk full: keep them in memory rather than lose them
            log.warning("cannot stage %d samples in %s (%s); they stay in memory", len(self.held), path, exc)
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            return
        self.files.append((path, len(self.held)))
        self.held = []

    def commit(self, rest: list[Sample]) -> None:
        """The collection succeeded: its staged samples, then ``rest``, go to the writer in order."""
        with self._lock:
            self.closed = True
            files, held, self.files, self.held = self.files, self.held, [], []
        if files:
            self.writer.adopt(files)
        if held or rest:
            self.writer.write(held + rest)

    def discard(self) -> None:
        """The collection failed: nothing it staged is kept."""
        with self._lock:
            self.closed = True
            files, self.files, self.held = self.files, [], []
        for path, _ in files:
            with contextlib.suppress(OSError):
                path.unlink()
