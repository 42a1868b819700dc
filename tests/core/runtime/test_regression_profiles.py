"""A latency-regression alert about a server whose process a ``process`` source knows: py-spy profiles
the real busy Python process and the profile lands on the incident's timeline, readable through
the seam (hottest function, speedscope JSON). Other alerts, unknown servers and a second alert
within the cool-down are not profiled; a process py-spy cannot profile gets an event saying why."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.access.policy import Principal, Role
from core.incidents.service import IncidentService
from core.kernel.records.alerts import Alert
from core.kernel.settings import load_settings
from core.kernel.settings.sources.process import ProcessGroup, ProcessSource
from core.optimization.profiles import top_functions
from core.runtime.regression_profiles import RegressionProfiler
from core.seam import Console
from core.storage.tsdb import Store, open_store
from tests.core.optimization.test_profiling import BUSY, require_pyspy

NOW = 1_790_000_000_000
RULES = {
    "McpToolLatencyJump": 'mcp_server_operation_duration_seconds{quantile="0.95"}',
    "McpServerMemoryNearLimit": "container_memory_working_set_bytes",
}
SOURCE = ProcessSource(
    name="procs",
    groups=[
        ProcessGroup(name="srv-busy", pattern=r"busy_server\.py"),
        ProcessGroup(name="srv-sleep", pattern=r"^sleep 31$"),
    ],
)


def alert(rule: str, server: str) -> Alert:
    labels = {"alertname": rule, "server": server, "team": "platform", "severity": "warning"}
    return Alert(labels, {"summary": "slow"}, "firing", NOW)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(
        load_settings(database_url=f"sqlite:///{tmp_path}/p.db", data_dir=tmp_path), clock=lambda: NOW / 1000
    )
    yield s
    s.close()


@pytest.fixture
def processes() -> Iterator[None]:
    require_pyspy()
    busy = subprocess.Popen([sys.executable, str(BUSY), "60"], stdout=subprocess.PIPE, text=True)
    sleeper = subprocess.Popen(["sleep", "31"])
    try:
        assert busy.stdout is not None and busy.stdout.readline().strip() == "ready"
        yield
    finally:
        for p in (busy, sleeper):
            p.kill()
            p.wait()


def fire(store: Store, profiler: RegressionProfiler, incidents: IncidentService, a: Alert) -> bool:
    """Ingest ``a``; True when a profile was started (and has finished)."""
    started = False
    for change in incidents.ingest([a], NOW):
        t = profiler.changed(change, {a.fingerprint: a}, NOW)
        if t is not None:
            t.join(60)
            started = True
    return started


def test_a_latency_regression_profiles_the_server_onto_its_incident(store: Store, processes: None) -> None:
    incidents = IncidentService(store.engine, clock=lambda: NOW / 1000)
    profiler = RegressionProfiler(incidents, [SOURCE], RULES, duration_s=2)
    assert not fire(store, profiler, incidents, alert("McpServerMemoryNearLimit", "srv-busy"))  # not latency
    assert not fire(
        store, profiler, incidents, alert("McpToolLatencyJump", "srv-unknown")
    )  # no process group
    jump = alert("McpToolLatencyJump", "srv-busy")
    assert fire(store, profiler, incidents, jump)
    (incident_id,) = incidents.incidents_of([jump.fingerprint]).values()
    admin = Console(store.settings, store, Principal("root", Role.ADMIN))
    (stored,) = admin.incidents.profiles(incident_id)
    assert stored.profile is not None and "hottest burn_cpu_hot (" in stored.text
    top = top_functions(stored.profile, 3)
    assert top["function"][0].startswith("burn_cpu_hot (") and top["self_pct"][0] > 50
    doc = json.loads(stored.speedscope_json)
    assert doc["profiles"][0]["type"] == "sampled" and any(
        f["name"] == "burn_cpu_hot" for f in doc["shared"]["frames"]
    )
    assert "profile" in admin.incidents.detail(incident_id).timeline["kind"].to_list()
    again = alert("McpToolLatencyJump", "srv-busy").labels | {"gen_ai_tool_name": "other"}
    assert not fire(store, profiler, incidents, Alert(again, {}, "firing", NOW))  # within the cool-down
    other_team = Console(store.settings, store, Principal("otto", Role.TEAM_LEAD, frozenset({"data"})))
    with pytest.raises(Exception, match="belongs to no team"):
        other_team.incidents.profiles(incident_id)


def test_a_process_py_spy_cannot_profile_gets_an_event_saying_why(store: Store, processes: None) -> None:
    incidents = IncidentService(store.engine, clock=lambda: NOW / 1000)
    profiler = RegressionProfiler(incidents, [SOURCE], RULES, duration_s=1)
    jump = alert("McpToolLatencyJump", "srv-sleep")
    assert fire(store, profiler, incidents, jump)
    (incident_id,) = incidents.incidents_of([jump.fingerprint]).values()
    (stored,) = Console(store.settings, store, Principal("root", Role.ADMIN)).incidents.profiles(incident_id)
    assert stored.profile is None and stored.text.startswith(
        "could not profile srv-sleep: cannot profile pid"
    )
    assert "not a Python process" in stored.text
