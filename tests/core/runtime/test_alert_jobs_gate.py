"""Rules wait while the store lacks samples held during an outage (tests/faults has the daemon)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from core.kernel.errors import StorageUnavailable
from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.runtime.alert_jobs import evaluate_when_caught_up
from core.runtime.spool import BufferedWriter
from core.storage.tsdb.store import open_store
from tests.conftest import T0_MS


class Service:
    def __init__(self) -> None:
        self.evaluated: list[str] = []

    def evaluate(self, group: str) -> None:
        self.evaluated.append(group)


def test_rules_wait_for_the_samples_an_outage_held_back(tmp_path: Path) -> None:
    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db"))
    writer = BufferedWriter(store, tmp_path / "spool", max_buffer=1_000)
    service = Service()
    gate = cast(Any, service)
    try:
        evaluate_when_caught_up(gate, "up", writer)  # nothing held: evaluated
        held = [Sample("host_up", labels_of(host="a"), T0_MS + i, 1.0) for i in range(3)]
        writer._failed(StorageUnavailable("down"))  # an outage: held in memory, then spooled
        writer._hold(held)
        assert writer.catching_up == 3
        with pytest.raises(StorageUnavailable, match="3 samples collected during a storage outage"):
            evaluate_when_caught_up(gate, "up", writer)
        writer._spill()
        assert writer.catching_up == 3  # in a spool file now, still not in the store
        with pytest.raises(StorageUnavailable):
            evaluate_when_caught_up(gate, "up", writer)
        assert writer.flush()  # the store takes them: rules go on
        assert writer.catching_up == 0
        evaluate_when_caught_up(gate, "up", writer)
        assert service.evaluated == ["up", "up"]
    finally:
        store.close()
