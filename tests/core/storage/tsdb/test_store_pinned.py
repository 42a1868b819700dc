"""``Store.pinned``: a query's reads on one connection of the pool, and only in its own thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from core.kernel.samples import Sample, labels_of
from core.kernel.selector import parse_selector
from core.storage.tsdb import Store


@pytest.fixture
def checkouts(store: Store) -> Iterator[list[int]]:
    """The pool checkouts made while the test runs, as the ids of the threads that made them."""
    made: list[int] = []

    def on_checkout(*_: object) -> None:
        made.append(threading.get_ident())

    sa.event.listen(store.engine, "checkout", on_checkout)
    yield made
    sa.event.remove(store.engine, "checkout", on_checkout)


def _write(store: Store) -> None:
    now = store.now_ms()
    store.write(
        [Sample("cpu", labels_of(host=h), now - i * 15_000, float(i)) for h in "ab" for i in range(20)]
    )


def _query(store: Store) -> dict[int, int]:
    ids = [sid for sid, _ in store.find_series(parse_selector("cpu"))]
    now = store.now_ms()
    return {sid: ts.size for sid, (ts, _) in store.raw_series(ids, now - 600_000, now + 1).items()}


def test_reads_in_a_pinned_block_take_one_checkout(store: Store, checkouts: list[int]) -> None:
    _write(store)
    checkouts.clear()
    unpinned = _query(store)
    assert len(checkouts) >= 2  # each read its own checkout
    checkouts.clear()
    with store.pinned():
        assert _query(store) == unpinned
        with store.pinned():  # nested: the same connection
            assert _query(store) == unpinned
        assert store.metrics() == ["cpu"]
    assert len(checkouts) == 1
    checkouts.clear()
    _query(store)
    assert len(checkouts) >= 2  # the pin ends with the block


def test_the_pin_ends_when_the_block_raises(store: Store, checkouts: list[int]) -> None:
    _write(store)
    with pytest.raises(RuntimeError), store.pinned():
        _query(store)
        raise RuntimeError("the query failed")
    checkouts.clear()
    _query(store)
    assert len(checkouts) >= 2


def test_other_threads_do_not_share_the_pinned_connection(store: Store, checkouts: list[int]) -> None:
    _write(store)
    seen: dict[str, dict[int, int]] = {}
    with store.pinned():
        seen["pinned"] = _query(store)
        other = threading.Thread(target=lambda: seen.update(other=_query(store)))
        other.start()
        other.join()
    assert seen["other"] == seen["pinned"] and len(seen["pinned"]) == 2
    assert len({t for t in checkouts if t != threading.get_ident()}) == 1  # the thread took its own
