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
``PULSE_MALLOC_TUNE=0`` leaves the allocator as it is; on a C library without ``mallopt``
(musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 128 * 1024 * 1024


def tune_malloc() -> bool:
    """Set the thresholds for this process; True when the C library took both."""
    if os.environ.get("PULSE_MALLOC_TUNE", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
