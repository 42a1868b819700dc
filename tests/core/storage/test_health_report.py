"""The daemons' health reports in meta: one key per daemon, the leader resolved, collectors merged."""

from __future__ import annotations

import json

from core.storage.repos.health_report import HEALTH_KEY, read_daemons, read_report, write_report
from core.storage.tsdb import Store

UP: dict[str, object] = {
    "state": "up",
    "last_error": None,
    "last_success_ms": 1000,
    "last_duration_s": 0.1,
    "interval_s": 15,
}


def test_one_daemon_reads_as_before(store: Store) -> None:
    assert read_report(store) == {} and read_daemons(store) == []
    write_report(store, {"host": UP, "demo": UP}, "node-a", True, 1000, 42)
    assert read_report(store) == {"host": UP, "demo": UP}
    (only,) = read_daemons(store)
    assert only == {
        "node": "node-a",
        "leader": True,
        "at_ms": 1000,
        "pid": 42,
        "collectors": {"host": UP, "demo": UP},
    }
    write_report(store, {"host": UP}, "node-a", True, 2000, 42)  # the next report replaces it
    assert read_report(store) == {"host": UP}


def test_two_daemons_keep_their_own_reports(store: Store) -> None:
    write_report(store, {"host": UP, "site-a": UP}, "node-a", True, 1000, 1)
    write_report(store, {"host": UP}, "node-b", False, 1500, 2)
    assert read_report(store) == {
        "node-a/host": {**UP, "node": "node-a"},
        "node-a/site-a": {**UP, "node": "node-a"},
        "node-b/host": {**UP, "node": "node-b"},
    }
    assert [(d["node"], d["leader"]) for d in read_daemons(store)] == [("node-a", True), ("node-b", False)]


def test_a_killed_leaders_last_claim_yields_to_the_newer_one(store: Store) -> None:
    write_report(store, {"site-a": UP}, "node-a", True, 1000, 1)  # killed after this report
    write_report(store, {"site-b": UP}, "node-b", True, 4000, 2)  # took over
    assert [(d["node"], d["leader"]) for d in read_daemons(store)] == [("node-a", False), ("node-b", True)]


def test_the_report_of_an_older_daemon_is_still_read(store: Store) -> None:
    store.set_meta(HEALTH_KEY, json.dumps({"host": UP}))
    assert read_report(store) == {"host": UP}
    store.set_meta("daemon:broken", "{not json")  # a damaged entry is skipped, not fatal
    assert read_report(store) == {"host": UP}
