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

    def single_window(self, width: int) -> bool:
        return self.min_ts // width == self.max_ts // width


def units(blocks: Iterable[HeadBlock], width: int) -> Iterator[list[HeadBlock]]:
    """``blocks`` (in id order) as units to compact together, in an order that keeps write order.

    Consecutive blocks within single windows are grouped by window (blocks of different windows
    share no (series, time), so their order does not matter); a block spanning windows ends the
    groups so far and is a unit alone.
    """
    groups: dict[int, list[HeadBlock]] = {}
    for block in blocks:
        if block.single_window(width):
            groups.setdefault(block.min_ts // width, []).append(block)
        else:
            yield from groups.values()
            groups = {}
            yield [block]
    yield from groups.values()


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
