"""Alert factories of the incident tests, and a service on the parametrized store (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from collectors.demo.topology import build_topology
from core.incidents.service import IncidentService
from core.kernel.records.alerts import AlertState, fingerprint
from core.kernel.records.incidents import AlertIn
from core.kernel.settings import DemoSettings
from core.kernel.settings.incidents import IncidentSettings
from core.storage.tsdb import Store
from tests.conftest import T0_MS, FakeClock

MIN = 60_000
SEVERITY = {"HostDown": "critical", "McpServerDown": "critical", "HostCPUHigh": "warning"}


def labels_for(name: str, severity: str | None = None, **labels: str) -> dict[str, str]:
    return {"alertname": name, "severity": severity or SEVERITY.get(name, "warning"), **labels}


def fire(name: str, at_ms: int = T0_MS, severity: str | None = None, **labels: str) -> AlertIn:
    lb = labels_for(name, severity, **labels)
    where = labels.get("server") or labels.get("host") or "somewhere"
    return AlertIn(
        fingerprint(lb), f"g/{name}", lb, {"summary": f"{name} on {where}"}, "firing", at_ms, None, 1.0
    )


def resolved(a: AlertIn, at_ms: int) -> AlertIn:
    return AlertIn(a.fingerprint, a.rule, a.labels, a.annotations, "resolved", a.at_ms, at_ms, 0.0)


def state(name: str, fired_ms: int, severity: str | None = None, **labels: str) -> AlertState:
    """The rule engine's view of a firing alert (active a minute before it fired)."""
    lb = labels_for(name, severity, **labels)
    where = labels.get("server") or labels.get("host")
    return AlertState(
        f"g/{name}", fingerprint(lb), lb, {"summary": f"{name} on {where}"}, "firing",
        fired_ms - MIN, fired_ms, None, fired_ms, 0.0,
    )  # fmt: skip


def host_servers(host: str = "host-04") -> list[dict[str, str]]:
    """The demo fleet's servers on ``host``: their labels (server, host, team, user, session_id, kind)."""
    topo = build_topology(DemoSettings())
    return [
        {
            "server": s.name,
            "host": s.host,
            "team": s.team,
            "user": s.user,
            "session_id": s.session_id,
            "kind": s.kind,
        }
        for s in topo.servers
        if s.host == host
    ]


@pytest.fixture
def make_service(store: Store, clock: FakeClock) -> Callable[..., IncidentService]:
    def make(**settings: object) -> IncidentService:
        return IncidentService(store.engine, IncidentSettings.model_validate(settings), clock)

    return make


@pytest.fixture
def service(make_service: Callable[..., IncidentService]) -> IncidentService:
    return make_service()
