"""Ingest planning without a database: loaded incidents and a batch in, writes and changes out."""

from __future__ import annotations

from dataclasses import replace

from core.incidents.plan import plan, summarise
from core.incidents.topology import Topology
from core.kernel.records.incidents import Incident, IncidentDetail, Loaded, MemberAlert
from core.kernel.settings.incidents import IncidentSettings
from tests.conftest import T0_MS
from tests.core.incidents.conftest import MIN, fire, resolved

S = IncidentSettings()


def loaded_incident(*alerts: MemberAlert, state: str = "triggered") -> Loaded:
    base = Incident(5, "k5", "", state, "warning", 0.0, T0_MS, version=3)  # type: ignore[arg-type]
    inc = summarise(base, alerts, S, None)
    return Loaded((IncidentDetail(inc, alerts),))


def test_a_new_alert_on_the_same_host_joins_the_loaded_incident() -> None:
    down = fire("HostDown", T0_MS, host="h1")
    loaded = loaded_incident(MemberAlert.of(down))
    server = fire("McpServerDown", T0_MS + MIN, server="s1", host="h1", team="t", user="u")
    p = plan(loaded, [down, server], {}, T0_MS + MIN, S, Topology())
    (w,) = p.writes
    assert w.expected_version == 3 and [m.fingerprint for m in w.alerts] == [server.fingerprint]
    assert (w.incident.alert_count, w.incident.impact.teams, w.incident.title) == (
        2,
        ("t",),
        "HostDown on h1",
    )
    assert [(c.kind, c.fingerprint) for c in p.changes] == [("alert_added", server.fingerprint)]


def test_nothing_new_writes_nothing() -> None:
    down = fire("HostDown", T0_MS, host="h1")
    p = plan(loaded_incident(MemberAlert.of(down)), [down], {}, T0_MS + 5 * MIN, S, Topology())
    assert p.writes == [] and p.changes == []


def test_reopen_only_within_the_window() -> None:
    down = fire("HostDown", T0_MS, host="h1")
    member = MemberAlert.of(resolved(down, T0_MS + 2 * MIN))
    closed = loaded_incident(member, state="resolved")
    closed = Loaded((IncidentDetail(_resolved_at(closed, T0_MS + 2 * MIN), closed.details[0].alerts),))
    soon = fire("HostDown", T0_MS + 10 * MIN, host="h1")
    p = plan(closed, [soon], {}, T0_MS + 10 * MIN, S, Topology())
    assert [c.kind for c in p.changes] == ["reopened", "alert_refired"]
    assert p.writes[0].incident.state == "triggered"
    late = fire("HostDown", T0_MS + 40 * MIN, host="h1")  # reopen_window_s is 30 minutes
    p = plan(closed, [late], {}, T0_MS + 40 * MIN, S, Topology())
    assert [c.kind for c in p.changes] == ["opened"] and p.writes[0].expected_version is None


def _resolved_at(loaded: Loaded, at_ms: int) -> Incident:
    return replace(loaded.details[0].incident, resolved_ms=at_ms, resolved_by="pulse")
