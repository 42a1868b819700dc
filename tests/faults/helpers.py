"""Shared pieces of the fault suite: a throwaway PostgreSQL cluster that can be frozen, spool reading."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.kernel.samples import labels_of
from tests.conftest import ThrowawayCluster, unavailable
from tests.core.runtime.test_daemon import Key


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


def freeze(cluster: ThrowawayCluster) -> list[int]:
    """kill -STOP the whole cluster: it keeps its sockets open (the kernel still accepts and
    acknowledges) but never answers, like a hung host."""
    pids = cluster_pids(cluster)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    return pids


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


def spooled_keys(spool: Path) -> list[Key]:
    """(metric, labels, ts) of every sample in the spool files (complete files only)."""
    out = []
    for path in sorted(spool.glob("spool-*.jsonl")):
        lines = path.read_text().splitlines()
        assert json.loads(lines[0])["count"] == len(lines) - 1
        for line in lines[1:]:
            metric, labels, ts, _value = json.loads(line)
            out.append((metric, labels_of(**dict(labels)), ts))
    return out
