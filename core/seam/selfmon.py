"""Pulse watching itself, for admins: the scheduler status and "run now", the Grafana and
Prometheus files. Every call needs ``manage_settings`` (admins), whatever the page showed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.access.policy import Action
from core.integrations import export
from core.integrations.scrape import scrape_config
from core.kernel.errors import ConfigError
from core.storage.repos.job_requests import JobRequest, JobRequests, read_status
from core.storage.tsdb import Store
from core.views.scheduler_status import job_names

if TYPE_CHECKING:
    from core.seam.console import Console


class SelfMonitoring:
    def __init__(self, console: Console, store: Store) -> None:
        self._c = console
        self._store = store

    def scheduler_status(self) -> dict[str, Any]:
        """The daemon's last report of its jobs ({} before its first)."""
        self._c.require(Action.MANAGE_SETTINGS)
        return read_status(self._store)

    def run_now(self, job: str) -> int:
        """Ask the daemon to run ``job`` now (it takes the request within a few seconds)."""
        self._c.require(Action.MANAGE_SETTINGS)
        known = job_names(read_status(self._store))
        if job not in known:
            raise ConfigError(
                f"no scheduled job named {job!r}; the daemon reported {', '.join(known) or 'none'}"
            )
        return JobRequests(self._store.engine).request(job, self._c.principal.username, self._c.now_ms())

    def requests(self, limit: int = 10) -> list[JobRequest]:
        self._c.require(Action.MANAGE_SETTINGS)
        return JobRequests(self._store.engine).recent(limit)

    def grafana_zip(self) -> bytes:
        """Dashboards, provisioning and scrape config as one zip (``pulse export grafana`` in one file)."""
        self._c.require(Action.MANAGE_SETTINGS)
        return export.zip_bytes(self._c.settings)

    def scrape_config(self) -> str:
        self._c.require(Action.MANAGE_SETTINGS)
        return scrape_config(self._c.settings)
