"""Run-now requests on SQLite and PostgreSQL: one daemon wins each, unknown jobs wait, stale ones go."""

from __future__ import annotations

from core.storage.repos.job_requests import STALE_REQUEST_MS, JobRequests
from core.storage.tsdb import Store


def test_each_request_is_taken_once_and_unknown_jobs_wait(store: Store) -> None:
    reqs, now = JobRequests(store.engine), store.now_ms()
    a = reqs.request("rollups", "admin", now)
    b = reqs.request("collector:x", "admin", now)
    assert reqs.take({"rollups", "flush"}, "d1:1", now + 1) == ["rollups"]
    assert reqs.take({"rollups"}, "d2:2", now + 2) == []  # already taken by d1
    assert reqs.take({"collector:x"}, "d2:2", now + 3) == ["collector:x"]
    by_id = {r.id: r for r in reqs.recent()}
    assert (by_id[a].taken_by, by_id[a].taken_ms) == ("d1:1", now + 1)
    assert by_id[b].taken_by == "d2:2"


def test_a_request_no_daemon_takes_is_dropped_after_a_while(store: Store) -> None:
    reqs, now = JobRequests(store.engine), store.now_ms()
    reqs.request("no-such-job", "admin", now)
    assert reqs.take({"rollups"}, "d1:1", now + 1000) == [] and len(reqs.recent()) == 1
    assert reqs.take({"rollups"}, "d1:1", now + STALE_REQUEST_MS + 1) == []
    assert reqs.recent() == []
