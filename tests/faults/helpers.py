"""Shared pieces of the fault suite: a throwaway PostgreSQL cluster that can be frozen (the daemon
as a process, spool reading and the proxy are in tests/daemons.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ThrowawayCluster, unavailable


def cluster_pids(cluster: ThrowawayCluster) -> list[int]:
    """The postmaster and every process it forked (backends, checkpointer, walwriter ...)."""
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            pids.append(int(stat.parent.name))
    return pids


def _stopped(pid: int) -> bool:
    """Whether ``pid`` is stopped now (or gone): a SIGSTOP takes effect only when the process
    next leaves the kernel, e.g. after the fork() it may be in the middle of."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("T", "t", "Z", "X")


def freeze(cluster: ThrowawayCluster) -> list[int]:
    """kill -STOP the whole cluster: it keeps its sockets open (the kernel still accepts and
    acknowledges) but never answers, like a hung host. The postmaster stops first, and its children
    are listed only once it is seen stopped, so no backend forked meanwhile escapes; the listing
    repeats until it finds no new child (a backend forked in a fork() the stop interrupted)."""
    stopped: list[int] = []
    while True:
        fresh = [pid for pid in cluster_pids(cluster) if pid not in stopped]
        if not fresh:
            return stopped
        for pid in fresh:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        stopped += fresh
        deadline = time.monotonic() + 5
        while not all(_stopped(pid) for pid in stopped) and time.monotonic() < deadline:
            time.sleep(0.01)


def thaw(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


@pytest.fixture
def cluster() -> Iterator[tuple[ThrowawayCluster, str]]:
    """A PostgreSQL cluster of this test alone (it gets frozen or stopped)."""
    c = ThrowawayCluster()
    try:
        url = c.start()
    except Exception as exc:
        c.stop()
        unavailable(f"throwaway cluster: {exc}")
        raise
    try:
        yield c, url
    finally:
        with contextlib.suppress(OSError, ValueError):
            thaw(cluster_pids(c))
        c.stop()
