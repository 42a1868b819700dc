"""The self-monitoring seam is for admins only, whatever a page shows: the scheduler report, run
now, and the Grafana files refuse every other role; an unknown job is refused by name."""

from __future__ import annotations

import pytest

from core.kernel.errors import ConfigError, PermissionDenied
from core.seam import Backend
from core.storage.repos.job_requests import JobRequests, write_status
from tests.security.conftest import ADMIN, DEV_A, LEAD_A, VIEWER_A


@pytest.mark.parametrize("who", [LEAD_A, DEV_A, VIEWER_A], ids=lambda p: p.role.value)
def test_other_roles_are_refused(seam_backend: Backend, who) -> None:  # type: ignore[no-untyped-def]
    write_status(seam_backend.store, {"daemon": "d:1", "reported_ms": 1, "jobs": [{"job": "rollups"}]})
    sm = seam_backend.console(who).self_monitoring
    for call in (sm.scheduler_status, lambda: sm.run_now("rollups"), sm.grafana_zip, sm.scrape_config):
        with pytest.raises(PermissionDenied):
            call()
    assert JobRequests(seam_backend.store.engine).recent() == []


def test_an_admin_asks_for_a_known_job_only(seam_backend: Backend) -> None:
    write_status(seam_backend.store, {"daemon": "d:1", "reported_ms": 1, "jobs": [{"job": "rollups"}]})
    sm = seam_backend.console(ADMIN).self_monitoring
    with pytest.raises(ConfigError, match="no scheduled job named 'nope'; the daemon reported rollups"):
        sm.run_now("nope")
    sm.run_now("rollups")
    assert [(r.job, r.requested_by) for r in sm.requests()] == [("rollups", "root")]
    assert sm.grafana_zip()[:2] == b"PK" and "job_name: pulse" in sm.scrape_config()
