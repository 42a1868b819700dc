"""The allocator tuning: taken by glibc here, skipped when turned off, and every entry point that
serves queries (the ``pulse`` command) applies it."""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib

import pytest

from core.kernel import malloc


def test_glibc_takes_both_thresholds() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    assert hasattr(libc, "mallopt"), "CI runs on glibc (Debian): mallopt must be there"
    assert malloc.tune_malloc() is True


def test_turned_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_MALLOC_TUNE", "0")
    assert malloc.tune_malloc() is False


def test_the_pulse_command_tunes_before_anything_else(monkeypatch: pytest.MonkeyPatch) -> None:
    cli = importlib.import_module("core.cli.main")  # the module (the package exports the function)

    calls: list[str] = []
    monkeypatch.setattr(cli, "tune_malloc", lambda: calls.append("tuned") or True)
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert calls == ["tuned"]


_ARENAS = """
import ctypes, ctypes.util, os, sys, threading
{setup}
os.dup2(1, 2)  # malloc_stats() writes to stderr
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
alive = threading.Barrier(8)
def work():
    libc.free(libc.malloc(300_000))
    alive.wait()  # all eight alive at once: none can take an arena another one left
libc.malloc_stats()  # the arenas before: a library may have started threads of its own
print("--- threads", flush=True)
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc.malloc_stats()
"""


@pytest.mark.parametrize(
    ("setup", "tune", "most"),
    [
        ("from core.kernel.malloc import tune_malloc; tune_malloc()", "1", malloc.ARENA_MAX),
        ("from core.kernel.malloc import tune_malloc; tune_malloc()", "0", None),
        ("import app  # as the dashboard's server imports it", "1", malloc.ARENA_MAX),
    ],
    ids=["daemon", "turned-off", "dashboard"],
)
def test_threads_share_the_arenas(setup: str, tune: str, most: int | None) -> None:
    """Eight threads that allocate: with the tuning (the ``pulse`` command's, or the dashboard's
    arena limit) they share ARENA_MAX arenas (each arena keeps up to TRIM_THRESHOLD of freed
    memory); without it each gets its own."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PULSE_MALLOC_TUNE": tune}
    done = subprocess.run(
        [sys.executable, "-c", _ARENAS.format(setup=setup)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    before, after = (part.count("Arena ") for part in done.stdout.split("--- threads"))
    if most is None:
        assert after > max(before, malloc.ARENA_MAX)
    else:  # none beyond the limit (or beyond those made before it was set)
        assert 1 <= after <= max(before, most)


_TRIM = """
import ctypes, sys
from core.kernel.malloc import trim_heap, tune_malloc
tune_malloc()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) // 1024
blocks = [libc.malloc(1 << 20) for _ in range(100)]  # 100 MB from the heap (under the mmap threshold)
for b in blocks:
    ctypes.memset(b, 1, 1 << 20)
high = rss()
for b in blocks:
    libc.free(b)
kept = rss()  # under TRIM_THRESHOLD (128 MB): kept
ran = trim_heap(1000.0), trim_heap(1030.0), trim_heap(1060.0)
print(high, kept, rss(), *ran)
"""


def test_trim_gives_the_free_heap_back_at_most_once_a_minute() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _TRIM], capture_output=True, text=True, check=True)
    high, kept, trimmed, *ran = done.stdout.split()
    assert int(kept) > int(high) - 20  # freed but kept by the tuning
    assert int(trimmed) < int(kept) - 80  # given back
    assert ran == ["True", "False", "True"]
