"""The query's fast paths for sorted reads (hour reads of hour rollups without a group-by, counter
deltas without a window) give what the general computation gives, bit for bit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from core.kernel.samples import Sample, labels_of
from core.storage.tsdb.store import Store
from tests.conftest import FakeClock
from tests.core.storage.tsdb.test_also_over_time import DAY, END, HOUR, START, _write


def _spy(check: Callable[[pl.DataFrame], bool], seen: list[bool]) -> Callable[[pl.DataFrame], bool]:
    def wrapped(rows: pl.DataFrame) -> bool:
        seen.append(check(rows))
        return seen[-1]

    return wrapped


def test_hour_reads_of_hour_rollups_skip_the_grouping_with_the_same_result(
    make_store: Callable[..., Store], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1 h read from a whole hour has one rollup row per bucket: taken row by row, it must equal
    the grouped computation bit for bit (-0.0 included), packed chunks or rows."""
    from core.storage.tsdb import query

    store = make_store()
    _write(store)
    store.write(
        [
            Sample("m", labels_of(host="z", team="y"), START + i * HOUR, v)
            for i, v in enumerate([-0.0, 2.0, -0.0])
        ]
    )
    store.run_rollups()
    clock.now = END / 1000

    def reads() -> list[pl.DataFrame]:
        kw = {"step_ms": HOUR, "resolution": "1h"}
        out = [store.select("m", START, END, over_time=n, **kw) for n in query.ROW_WISE]
        return [*out, store.select("m", START, END, over_time="max", also_over_time=("avg", "count"), **kw)]

    for packed in (False, True):
        if packed:
            clock.now = (END + 10 * DAY) / 1000
            store.compact()
        seen: list[bool] = []
        with monkeypatch.context() as m:
            m.setattr(query, "_one_row_per_bucket", _spy(query._one_row_per_bucket, seen))
            row_wise = reads()
        assert seen and all(seen)  # every read took the row-wise path
        with monkeypatch.context() as m:
            m.setattr(query, "_one_row_per_bucket", lambda rows: False)
            grouped = reads()
        for a, b in zip(row_wise, grouped, strict=True):
            assert a.height > 0 and a.equals(b)
            assert (
                a["value"].to_numpy().view(np.uint64).tolist()
                == b["value"].to_numpy().view(np.uint64).tolist()
            )


def test_counter_deltas_without_a_window_equal_the_windowed_ones(
    make_store: Callable[..., Store], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rate and increase (with resets) on raw samples and rollups, sorted path against the window."""
    from core.storage.tsdb import query

    store = make_store()
    store.write(
        [
            Sample("c_total", labels_of(host=h), START + i * 7 * 60_000, float(i % (40 + k) * (k + 1)))
            for i in range(600)
            for k, h in enumerate("abc")
        ]
    )
    store.run_rollups()
    clock.now = END / 1000

    def reads() -> list[pl.DataFrame]:
        return [
            store.select("c_total", START + HOUR, START + DAY, step_ms=step, over_time=over, resolution=res)
            for over in ("rate", "increase")
            for res, step in (("raw", 15 * 60_000), ("1m", HOUR), ("1h", 6 * HOUR))
        ]

    seen: list[bool] = []
    with monkeypatch.context() as m:
        m.setattr(query, "_sorted_by_series", _spy(query._sorted_by_series, seen))
        fast = reads()
    assert seen and all(seen)
    with monkeypatch.context() as m:
        m.setattr(query, "_sorted_by_series", lambda rows: False)
        windowed = reads()
    for a, b in zip(fast, windowed, strict=True):
        assert a.height > 0 and a.equals(b)
