"""The C allocator tuned for numpy's large temporaries: they are reused instead of mapped anew.

glibc serves an allocation of more than its mmap threshold (128 KB at first, raised dynamically
up to 32 MB) with fresh pages from ``mmap`` and gives them back on ``free``; the next array of
that size faults every page in again. A query over many series makes hundreds of such arrays
(decoded chunks, masks, merged samples), and on this VM a page fault costs ~2 us: copying a
1.3 MB array took 0.68 ms from fresh pages and 0.04 ms from reused ones. With arrays up to
``MMAP_THRESHOLD`` taken from the heap and up to ``TRIM_THRESHOLD`` of free heap kept instead of
trimmed, the every-series range query over 100 series x 1 day took 16 ms of CPU instead of 37,
and 1,000 series 290 ms instead of 332 (measured 2026-12-04; ``docs/promql.md``).

The cost: after a large query the process keeps up to ``TRIM_THRESHOLD`` of freed memory
resident for the next one, instead of giving it back. The peak (VmHWM) is unchanged.

That bound holds per malloc arena, and glibc gives each new thread an arena of its own, up to 8
per core: the daemon's scheduler, HTTP and API threads had 15 of them, each keeping what its
thread had freed, and ``pulse collect`` grew from 150 to 295 MB over 30 minutes with no more
data to hold (103 MB of it free memory in arenas). ``ARENA_MAX`` arenas are shared by all threads
instead (the GIL lets one thread run Python at a time, so they seldom wait for each other), as
``MALLOC_ARENA_MAX=2`` does for many Python services. The dashboard's process takes only the
arena limit (``share_arenas``, from ``app.py``): a thread runs each page run of each session.
``PULSE_MALLOC_TUNE=0`` leaves the allocator as it is; on a C library without ``mallopt``
(musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 128 * 1024 * 1024
ARENA_MAX = 2


def _mallopt(options: tuple[tuple[int, int], ...]) -> bool:
    """Set glibc's ``mallopt`` options; True when the C library took every one."""
    if os.environ.get("PULSE_MALLOC_TUNE", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all([mallopt(opt, value) for opt, value in options])


def tune_malloc() -> bool:
    """Set the thresholds and the arena limit for this process (before it starts threads);
    True when the C library took all three."""
    return _mallopt(
        ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, ARENA_MAX))
    )


def share_arenas() -> bool:
    """Only the arena limit (the dashboard's process); True when the C library took it."""
    return _mallopt(((M_ARENA_MAX, ARENA_MAX),))


TRIM_EVERY_S = 60.0
_trimmed_at = [float("-inf")]


def trim_heap(now_s: float) -> bool:
    """Give the heap's free pages back to the system (glibc's ``malloc_trim(0)``), at most every
    ``TRIM_EVERY_S``; True when it ran. With ``TRIM_THRESHOLD`` nothing is given back on ``free``,
    so the daemon's heap would keep the peak of whatever its jobs and queries once held at the same
    time (measured: 6-12 MB more RSS after 10 minutes of ``pulse collect``); once a minute keeps
    the reuse within a burst of queries and drops what an idle minute did not use. The daemon's
    ``self`` job calls it; ``PULSE_MALLOC_TUNE=0`` or a C library without it: nothing."""
    if os.environ.get("PULSE_MALLOC_TUNE", "1") == "0" or now_s - _trimmed_at[0] < TRIM_EVERY_S:
        return False
    _trimmed_at[0] = now_s
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        malloc_trim = libc.malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes, malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    malloc_trim(0)
    return True
