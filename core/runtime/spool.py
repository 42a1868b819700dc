"""A buffered writer: samples survive a database outage in memory, then in spool files on disk.

Order is kept: spool files (oldest first), then the memory buffer, then the new batch; the staged
files of a big collection (:mod:`core.runtime.staging`) come last, one at a time, with what
collection queued meanwhile written before each, so a huge body never holds back the other
sources' samples for longer than one file's write. A spool file
is JSON lines, a header ``{"format": "pulse-spool", "version": 1, "count": N}`` then one
``[metric, [[label, value], ...], ts_ms, value]`` per sample; it is written to a temporary name,
fsynced and renamed, and deleted only after the store accepted its samples in one transaction.
A crash between that commit and the delete replays the file on restart, which the store absorbs
(it upserts on ``(series, ts)``). A corrupt file is renamed ``*.bad`` and the reason logged.

In the daemon the writer runs its own thread (:meth:`BufferedWriter.start`): ``write()`` only
queues the batch, so collection never waits on the database, whatever it does (locked, frozen,
gone). While the store is unavailable the thread writes what it holds to the spool (fsynced) at
least every ``flush_after_s`` seconds and before each retry, so ``kill -9`` during an outage loses
at most the samples of the last ``flush_after_s`` seconds plus one retry attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.kernel.errors import StorageError, StorageUnavailable
from core.kernel.samples import Sample
from core.runtime.spooldir import SpoolDir
from core.runtime.spoolfile import SpoolStats, read_file
from core.storage.tsdb.ingest import WriteResult

if TYPE_CHECKING:
    from core.runtime.selfmetrics import SelfMetrics
    from core.storage.tsdb.store import Store

log = logging.getLogger(__name__)
CHUNK = 50_000


def _pop_all(q: deque[Sample]) -> list[Sample]:
    """Everything in ``q`` now, oldest first (``write()`` may append meanwhile: those stay)."""
    out = []
    for _ in range(len(q)):
        try:
            out.append(q.popleft())
        except IndexError:
            break
    return out


def _merge(total: WriteResult, res: WriteResult) -> None:
    total.accepted += res.accepted
    total.rejected.update(res.rejected)
    total.new_series += res.new_series


class BufferedWriter:
    """Writes batches to the store; holds them while it is unavailable; nothing is lost.

    While the store is down, ``write()`` buffers at once for ``retry_interval_s`` instead of
    waiting on the database for every batch; ``flush()`` always tries.
    """

    def __init__(
        self,
        store: Store,
        spool_dir: Path,
        max_buffer: int,
        metrics: SelfMetrics | None = None,
        retry_interval_s: float = 1.0,
        flush_after_s: float = 2.0,
    ) -> None:
        self.store, self.max_buffer, self.metrics = store, max_buffer, metrics
        self.retry_interval_s, self.flush_after_s = retry_interval_s, flush_after_s
        self._incoming: deque[Sample] = deque()  # queued by write() while the thread runs
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._held_since: float | None = None  # monotonic time the oldest unspooled held sample came
        self._failures = 0  # store write failures in a row
        self._pop_lock = threading.Lock()  # taking from the queue (writer or spooler), never for long
        self._in_call_since: float | None = None  # when the writer's current database call began
        self.spool_dir = Path(spool_dir)
        self.stats = SpoolStats()
        self.last_error: str | None = None
        self._buf: deque[Sample] = deque()
        self._lock = threading.RLock()
        self._retry_at = 0.0
        self.spool = SpoolDir(self.spool_dir, self.stats, metrics)
        self.spool.on_change = self._gauge
        self._gauge()

    # -- public -------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Samples not yet in the store: queue, memory buffer and spool files.

        Read without the lock (the writer thread may hold it for a database call); ``len`` of a
        deque and ``list`` of a dict's values are atomic in CPython."""
        return len(self._incoming) + len(self._buf) + self.spool.count()

    @property
    def in_memory(self) -> int:
        """Samples held only in memory (lost if the process dies now)."""
        return len(self._incoming) + len(self._buf)

    @property
    def spooled(self) -> int:
        """Samples in spool files on disk."""
        return self.spool.count()

    @property
    def catching_up(self) -> int:
        """Samples collected but held back by a store that failed or was stuck (memory and spool
        files, not a big collection's staged files); 0 when the store has what was collected up
        to the last write. Rules wait for it: evaluated before, they would see a gap."""
        unstaged = self.spool.unstaged_count()
        if self.last_error is None and not unstaged:
            return 0
        return len(self._buf) + unstaged

    @property
    def spill_error(self) -> str | None:
        """The last spool write failure, until one succeeds."""
        return self.spool.error

    def start(self) -> None:
        """Write from a thread of its own from now on: ``write()`` only queues (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pulse-writer", daemon=True)
            self._thread.start()
            threading.Thread(target=self._spool_stalled, name="pulse-spooler", daemon=True).start()

    def write(self, batch: Sequence[Sample]) -> WriteResult:
        """Drain what is pending, then write ``batch``; on a storage failure hold it instead.

        Returns what the store accepted in this call. A non-transient StorageError is re-raised
        after the batch was buffered, so the caller can report it. Once :meth:`start` was called,
        the batch is only queued for the writer thread (the result is then empty).
        """
        if self._thread is not None and not self._stopping.is_set():
            self._incoming.extend(batch)  # deque.extend is atomic: no lock, never waits
            self._wake.set()
            return WriteResult()
        with self._lock:
            self._take_incoming()
            result = WriteResult()
            if self.pending and time.monotonic() < self._retry_at:
                self._hold(batch)
                return result
            try:
                self._drain(result)
                if batch:
                    _merge(result, self._timed_write(batch))
            except StorageError as exc:
                self._hold(batch)
                self._failed(exc)
                if not isinstance(exc, StorageUnavailable):
                    raise
            return result

    def adopt(self, files: Sequence[tuple[Path, int]]) -> None:
        """Take spool-format files (path, sample count) written elsewhere in the spool folder as
        spool files, in order: they are drained like any other, one file at a time."""
        self.spool.adopt(files)
        self._gauge()
        self._wake.set()

    def flush(self) -> bool:
        """Try to write everything pending now; True when nothing is left.

        With the writer thread running this only wakes it (the thread writes)."""
        if self._thread is not None and not self._stopping.is_set():
            self._wake.set()
            return self.pending == 0  # lock-free: never waits on a database call in progress
        with self._lock:
            self._take_incoming()
            try:
                self._drain(WriteResult())
            except StorageError as exc:
                self._failed(exc)
            return self.pending == 0

    def close(self, lock_wait_s: float = 30.0, retry: bool = True) -> None:
        """Stop the thread; flush; if the store is down, spill the memory buffer so shutdown loses
        nothing. With ``retry=False`` and the store known to be down, it spills without trying it
        again (a frozen database would make the stop wait for the client-side timeout)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(lock_wait_s)
        if not self._lock.acquire(timeout=lock_wait_s):  # the thread is stuck in a database call
            log.error("the writer is stuck in a database call; spooling the samples queued since")
            with self._pop_lock:
                samples = _pop_all(self._incoming)
                if samples and not self.spool.write(samples):
                    self._incoming.extendleft(reversed(samples))
            return
        try:
            self._take_incoming()
            if ((self.last_error is not None and not retry) or not self.flush()) and self._buf:
                self._spill()
        finally:
            self._lock.release()

    # -- the writer thread --------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(min(0.25, self.flush_after_s / 4))
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self._step()
            except Exception:  # the thread must live on: log, count, go on
                log.exception("the writer thread failed; it goes on")

    def _step(self) -> None:
        with self._lock:
            self._take_incoming()
            now = time.monotonic()
            if self.last_error is not None:
                if (
                    self._buf
                    and self._held_since is not None
                    and now - self._held_since >= self.flush_after_s
                ):
                    self._spill()
                if now < self._retry_at:
                    return
                if self._buf:  # the write-ahead: nothing held in memory only during a retry
                    self._spill()
            if not self.pending:
                return
            try:
                self._drain(WriteResult())
            except StorageError as exc:
                self._failed(exc)
                if self._buf and self._held_since is None:
                    self._held_since = now

    def _take_incoming(self) -> None:
        """Move what write() queued into the buffer, in order (called with the lock held)."""
        with self._pop_lock:
            batch = _pop_all(self._incoming)
        if not batch:
            return
        if self.last_error is not None:
            self._hold(batch)
        else:
            self._buf.extend(batch)
            if len(self._buf) > self.max_buffer:
                self._spill()
            self._gauge()

    # -- internals ----------------------------------------------------------------
    def _timed_write(self, batch: Sequence[Sample]) -> WriteResult:
        t0 = time.perf_counter()
        res = self.store.write(batch)
        if self.metrics is not None:
            newest = max((s.ts for s in batch), default=0)  # the ingest lag: how old it is when stored
            self.metrics.record_write(res, time.perf_counter() - t0, newest)
        self.stats.written += res.accepted
        return res

    def _drain(self, result: WriteResult) -> None:
        self._in_call_since = time.monotonic()
        try:
            self._drain_all(result)
        finally:
            self._in_call_since = None

    def _drain_all(self, result: WriteResult) -> None:
        """Spool files, the memory buffer, then the staged files of big collections one at a
        time, taking what collection queued meanwhile before each: a huge body's files never hold
        back the other sources' samples for longer than one file's write (issue 15, item 18).
        A source's samples can so reach the store out of order only when its next collection is
        committed before the last one's files are written, by less than an interval (the store
        accepts that much, ``ingest.out_of_order_window_s``)."""
        while True:
            for path in self.spool.unstaged_first():
                self._write_file(path, result)
            while self._buf:
                chunk = [self._buf[i] for i in range(min(CHUNK, len(self._buf)))]
                _merge(result, self._timed_write(chunk))
                for _ in chunk:
                    self._buf.popleft()
                self.stats.recovered += len(chunk)
                self._gauge()
            staged = self.spool.next_staged()
            if staged is None:
                break
            self._write_file(staged, result)
            if self.last_error is None:  # after an outage the rest waits, in order, as it came
                self._take_incoming()
        if self.last_error is not None:
            log.info("storage is back; pending samples written")
        self.last_error, self._retry_at, self._held_since, self._failures = None, 0.0, None, 0
        self.spool.told = False

    def _write_file(self, path: Path, result: WriteResult) -> None:
        try:
            samples = read_file(path, body=True)[1]
        except (OSError, ValueError) as exc:
            self.spool.set_aside(path, str(exc))
            return
        _merge(result, self._timed_write(samples))
        self.stats.recovered += self.spool.done(path)
        self._gauge()

    def _hold(self, batch: Sequence[Sample]) -> None:
        if batch and self._held_since is None:
            self._held_since = time.monotonic()
        self._buf.extend(batch)
        self.stats.buffered += len(batch)
        if len(self._buf) > self.max_buffer:
            self._spill()
        self._gauge()

    def _failed(self, exc: StorageError) -> None:
        if self.last_error is None:
            log.warning("storage unavailable, buffering samples: %s", exc)
        self.last_error = str(exc)
        self._failures += 1
        # retries back off (1 s, 2 s, 4 s ... at most 10 s): a database that answers slowly or not
        # at all is not asked again and again; held samples reach the spool meanwhile
        wait = min(max(10.0, self.retry_interval_s), self.retry_interval_s * 2 ** min(self._failures - 1, 10))
        self._retry_at = time.monotonic() + wait

    def _spill(self) -> None:
        """Write the memory buffer to spool files of at most CHUNK samples each, so reading one
        back never holds more than that (called with the lock held)."""
        while self._buf:
            part = [self._buf[i] for i in range(min(CHUNK, len(self._buf)))]
            if not self.spool.write(part, busy=self.last_error is None):
                return
            for _ in part:
                self._buf.popleft()
        self._held_since = None

    def _spool_stalled(self) -> None:
        """The spooler thread: while the writer thread is stuck in a database call (a frozen or
        locked store) for ``flush_after_s``, what collection queues meanwhile goes to the spool.
        Those samples are newer than everything the writer holds, so file order stays time order
        when the call succeeds; when it fails, the writer's held samples are spilled after them
        (a few seconds out of order, well inside ``ingest.out_of_order_window_s``)."""
        while not self._stopping.wait(min(0.25, self.flush_after_s / 4)):
            since = self._in_call_since
            if since is None or not self._incoming or time.monotonic() - since < self.flush_after_s:
                continue
            with self._pop_lock:  # the writer takes from the queue after this file, in order
                samples = _pop_all(self._incoming)
                if samples and not self.spool.write(samples, busy=self.last_error is None):
                    self._incoming.extendleft(reversed(samples))  # back in front, in order

    def _gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.buffered_samples.set(len(self._incoming) + len(self._buf) + self.spool.count())
