"""Two teams' worth of alerts, incidents, silences and metrics, and a seam per role to probe them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.access.policy import Principal, Role
from core.incidents.service import IncidentService
from core.kernel.records.alerts import AlertState, Transition, fingerprint
from core.kernel.samples import Sample, labels_of
from core.seam import Backend, Console
from core.storage.repos.alert_states import save_states
from core.storage.repos.users import UserRepo
from core.storage.tsdb import Store
from tests.conftest import FakeClock

# team a runs s1 on h1, team b runs s2 on h2; h3 runs nobody's server
SERVERS = {"s1": ("h1", "a"), "s2": ("h2", "b")}
ADMIN = Principal("root", Role.ADMIN)
LEAD_A = Principal("lead-a", Role.TEAM_LEAD, frozenset({"a"}))
LEAD_B = Principal("lead-b", Role.TEAM_LEAD, frozenset({"b"}))
DEV_A = Principal("dev-a", Role.DEVELOPER, frozenset({"a"}))
VIEWER_A = Principal("viewer-a", Role.VIEWER, frozenset({"a"}))


def firing(rule: str, at: int, **labels: str) -> AlertState:
    return AlertState(
        rule, fingerprint(labels), labels, {"summary": f"{labels['alertname']} of {labels.get('team', '-')}"},
        "firing", at - 60_000, at, None, at, 1.0,
    )  # fmt: skip


def seed(store: Store, now: int) -> list[AlertState]:
    batch = [
        Sample(m, labels_of(server=s, host=h, team=t), now - i * 15_000, 1.0)
        for s, (h, t) in SERVERS.items()
        for m in ("mcp_server_up", "container_cpu_usage_cores")
        for i in range(20)
    ]
    batch += [
        Sample("host_up", labels_of(host=h), now - i * 15_000, 1.0)
        for h in ("h1", "h2", "h3")
        for i in range(20)
    ]
    store.write(batch)
    states = [
        firing(
            "mcp/McpServerDown",
            now - 120_000,
            alertname="McpServerDown",
            severity="critical",
            server=s,
            host=h,
            team=t,
        )
        for s, (h, t) in SERVERS.items()
    ] + [firing("hosts/HostCPUHigh", now - 90_000, alertname="HostCPUHigh", severity="warning", host="h3")]
    moves = [
        Transition(s.rule, s.fingerprint, s.labels, "pending", "firing", now - 100_000, 1.0) for s in states
    ]
    save_states(store.engine, {s.rule for s in states}, states, moves)
    IncidentService(store.engine, clock=lambda: now / 1000).ingest(states, now)
    repo = UserRepo(store.engine)
    for p in (LEAD_A, LEAD_B, DEV_A, VIEWER_A):
        repo.add(
            username=p.username, password_hash="x" * 60, role=p.role.value, now_ms=now, teams=sorted(p.teams)
        )
    return states


@pytest.fixture
def seam_backend(make_store: Callable[..., Store], clock: FakeClock) -> Backend:
    store = make_store()
    seed(store, int(clock() * 1000))
    return Backend(store.settings, store)


@pytest.fixture
def as_user(seam_backend: Backend) -> Callable[[Principal], Console]:
    return seam_backend.console
