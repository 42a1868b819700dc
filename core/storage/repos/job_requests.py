"""Requests to run a daemon job now, and the daemon's report of its scheduled jobs. All their SQL is here.

The report (every job: next run, last run, last duration, last error) is a JSON document in the
``meta`` table under ``scheduler_status``, written by the daemon with its collector health.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.storage.engine import storage_errors
from core.storage.schema_jobs import job_requests

STATUS_KEY = "scheduler_status"
STALE_REQUEST_MS = 10 * 60_000  # a request no daemon took in 10 minutes is dropped


class Meta(Protocol):
    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


def write_status(meta: Meta, status: dict[str, object]) -> None:
    meta.set_meta(STATUS_KEY, json.dumps(status))


def read_status(meta: Meta) -> dict[str, object]:
    """``{"daemon": ..., "reported_ms": ..., "jobs": [...]}``, or {} before the daemon's first report."""
    text = meta.get_meta(STATUS_KEY)
    return json.loads(text) if text else {}


@dataclass(frozen=True)
class JobRequest:
    id: int
    job: str
    requested_by: str
    requested_ms: int
    taken_ms: int | None
    taken_by: str | None


class JobRequests:
    """The ``job_requests`` table: the dashboard asks, a daemon takes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def request(self, job: str, requested_by: str, now_ms: int) -> int:
        row = {"job": job, "requested_by": requested_by, "requested_ms": now_ms}
        with storage_errors("requesting a job run"), self.engine.begin() as conn:
            key = conn.execute(sa.insert(job_requests).values(**row)).inserted_primary_key
        return int(key[0]) if key else 0

    def take(self, jobs: set[str], daemon: str, now_ms: int) -> list[str]:
        """Claim the open requests for ``jobs`` (each won by one daemon only); returns their jobs.

        Polled every few seconds: without an open request it only reads (no write transaction,
        so it never waits on SQLite's writer lock)."""
        c = job_requests.c
        with storage_errors("reading job requests"), self.engine.connect() as conn:
            open_ = conn.execute(
                sa.select(c.id, c.job, c.requested_ms).where(c.taken_ms.is_(None)).order_by(c.id)
            ).all()
        if not open_:
            return []
        taken: list[str] = []
        with storage_errors("taking job requests"), self.engine.begin() as conn:
            for rid, job, at in open_:
                if at < now_ms - STALE_REQUEST_MS:  # no daemon has that job: dropped
                    conn.execute(sa.delete(job_requests).where(c.id == rid, c.taken_ms.is_(None)))
                    continue
                if job not in jobs:
                    continue
                won = conn.execute(
                    sa.update(job_requests)
                    .where(c.id == rid, c.taken_ms.is_(None))
                    .values(taken_ms=now_ms, taken_by=daemon)
                ).rowcount
                if won:
                    taken.append(job)
        return taken

    def recent(self, limit: int = 20) -> list[JobRequest]:
        c = job_requests.c
        q = sa.select(*job_requests.c).order_by(c.id.desc()).limit(limit)
        with storage_errors("reading job requests"), self.engine.connect() as conn:
            return [JobRequest(*row) for row in conn.execute(q).all()]
