"""How a compaction run splits the head: which blocks go together, and series ranges of a big window.

A chunk should be encoded once per run, not once per transaction that happens to hold some of
its samples (at 10,000 series a 500k-sample transaction holds 50 samples of each series, and a
6-hour chunk was decoded, merged and encoded again 29 times). So the head blocks that lie within
one chunk window are grouped by window; a block spanning several windows (a backfill's batch of a
few series over days) is a unit of its own. Units keep write order where it matters: a sample
written twice keeps its later value because the blocks that can hold the same (series, time),
those touching the same window, are merged in write (id) order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import numpy as np


class HeadBlock(NamedTuple):
    id: int
    n: int
    min_ts: int
    max_ts: int


class Unit(NamedTuple):
    """Blocks to compact together: those touching ``window`` (its start, ms), or one block alone
    (``window`` None) that spans more windows than a scrape straddling a boundary does."""

    window: int | None
    blocks: list[HeadBlock]


def units(blocks: Iterable[HeadBlock], width: int, cutoff: int) -> Iterator[Unit]:
    """``blocks`` (in id order) as units to compact together, in an order that keeps write order.

    Blocks within one window, or straddling two (a scrape written across a boundary), join the
    group of each window before ``cutoff`` they touch, in id order; blocks of different windows
    share no (series, time), so the groups' order does not matter. A block spanning more windows
    (a backfill's batch) ends the groups so far and is a unit alone.
    """
    groups: dict[int, list[HeadBlock]] = {}
    last_window = (cutoff - 1) // width
    for block in blocks:
        first, last = block.min_ts // width, min(block.max_ts // width, last_window)
        if last - first <= 1:
            for w in range(first, last + 1):
                groups.setdefault(w, []).append(block)
        else:
            yield from (Unit(w * width, g) for w, g in groups.items())
            groups = {}
            yield Unit(None, [block])
    yield from (Unit(w * width, g) for w, g in groups.items())


def series_ranges(counted: list[tuple[np.ndarray, np.ndarray]], budget: int) -> list[tuple[int, int]]:
    """Consecutive (first, last) series id ranges of about ``budget`` samples each.

    ``counted``: (series ids, sample counts) per block, as ``np.unique(..., return_counts=True)``
    gives them. A series holding more than ``budget`` samples alone is a range alone.
    """
    if not counted:
        return []
    sids, inverse = np.unique(np.concatenate([s for s, _ in counted]), return_inverse=True)
    per = np.bincount(inverse, weights=np.concatenate([c for _, c in counted]).astype(np.float64))
    cum = np.cumsum(per)
    ranges, start = [], 0
    while start < sids.size:
        before = cum[start - 1] if start else 0.0
        end = max(int(np.searchsorted(cum, before + budget, side="right")), start + 1)
        ranges.append((int(sids[start]), int(sids[end - 1])))
        start = end
    return ranges
