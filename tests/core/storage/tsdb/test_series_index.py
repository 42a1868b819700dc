"""The in-memory series index answers as the series table does: new series are seen at once,
and a database replaced under a running process is read again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from core.kernel.samples import Sample, labels_of
from core.kernel.selector import parse_selector
from core.kernel.settings import load_settings
from core.storage.schema import series
from core.storage.tsdb import open_store
from core.storage.tsdb.read import select_series
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock


def _from_table(store: Store, selector: str) -> list[tuple[int, dict[str, str]]]:
    sel = parse_selector(selector)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(series.c.id, series.c.labels).where(series.c.metric == sel.metric))
        found = [(int(i), json.loads(t)) for i, t in rows]
    return sorted((i, lb) for i, lb in found if sel.matches(lb))


def _listed(store: Store, selector: str) -> list[tuple[int, dict[str, str]]]:
    frame = store.series(selector)
    return sorted(zip(frame["id"].to_list(), frame["labels"].to_list(), strict=True))


def test_new_series_are_listed_as_soon_as_they_are_written(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.write([Sample("m", labels_of(host=f"h{i}"), T0_MS, 1.0) for i in range(3)])
    assert len(_listed(store, "m")) == 3
    other = make_store()  # another process' store on the same database writes more
    other.write([Sample("m", labels_of(host=f"h{i}"), T0_MS, 1.0) for i in range(3, 6)])
    other.write([Sample("n", labels_of(host="h0"), T0_MS, 1.0)])
    for sel in ("m", 'm{host=~"h[1-4]"}', 'm{host!="h5"}', "n", "absent"):
        assert _listed(store, sel) == _from_table(store, sel)
    assert store.metrics() == ["m", "n"]


def test_listed_labels_are_the_callers_own(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.write([Sample("m", labels_of(host="a"), T0_MS, 1.0)])
    first = store.series("m")["labels"].to_list()[0]
    first["host"] = "changed"
    assert store.series("m")["labels"].to_list()[0] == {"host": "a"}


def test_a_database_replaced_under_a_running_process_is_read_again(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path}/pulse.db"
    store = open_store(load_settings(database_url=url), clock=clock)
    store.write([Sample("m", labels_of(host=f"old{i}"), T0_MS, 1.0) for i in range(4)])
    assert len(_listed(store, "m")) == 4
    with store.engine.begin() as conn:  # as if the file were replaced: same ids, other series
        conn.execute(sa.delete(series))
    writer = open_store(load_settings(database_url=url), clock=clock)
    writer.write([Sample("m", labels_of(host=f"new{i}"), T0_MS, 1.0) for i in range(5)])
    assert [lb["host"] for _, lb in _listed(store, "m")] == [f"new{i}" for i in range(5)]
    with store.engine.connect() as conn:
        assert len(select_series(conn, parse_selector("m"))) == 5
    writer.close()
    store.close()
