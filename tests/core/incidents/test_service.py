"""The incident service on a real store (SQLite and PostgreSQL) with a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from core.incidents.service import IncidentService
from core.kernel.errors import IncidentConflict, IncidentError, IncidentNotFound
from core.kernel.records.alerts import AlertState
from core.kernel.records.incidents import IncidentWrite
from core.kernel.records.notifications import Delivery
from core.storage.repos import incidents as db
from tests.conftest import T0_MS, FakeClock
from tests.core.incidents.conftest import MIN, fire, host_servers, resolved, state


def host_down_states() -> list[AlertState]:
    """HostDown on host-04 and McpServerDown on its six servers within two minutes, plus a CPU warning
    on host-02."""
    servers = host_servers("host-04")
    out = [state("McpServerDown", T0_MS + i * 20_000, **s) for i, s in enumerate(servers)]
    out.append(state("HostDown", T0_MS + 60_000, host="host-04"))
    out.append(state("HostCPUHigh", T0_MS + 30_000, host="host-02"))
    return out


def run_cycles(service: IncidentService, clock: FakeClock, states: list[AlertState], until_s: int) -> list:
    """Ingest what has fired so far every 30 s (as the rule engine would), up to ``until_s``."""
    changes = []
    for t in range(0, until_s + 1, 30):
        clock.now = (T0_MS + t * 1000) / 1000
        changes += service.ingest([s for s in states if s.fired_at_ms <= clock.ms])
    return changes


def test_host_down_opens_one_incident_of_seven_alerts(service: IncidentService, clock: FakeClock) -> None:
    changes = run_cycles(service, clock, host_down_states(), 150)
    listed = service.list()
    assert listed.height == 2
    top, other = listed.row(0, named=True), listed.row(1, named=True)
    assert (top["alert_count"], top["firing_count"], top["severity"]) == (7, 7, "critical")
    assert top["title"] == "HostDown on host-04"  # named after the host, not its first server
    assert top["teams"] == ["ml-infra", "payments", "platform"]
    assert (top["users"], top["servers"], top["hosts"]) == (5, 6, 1)
    assert top["priority"] == 549.4 and top["level"] == "P1"
    assert (other["title"], other["priority"], other["level"]) == ("HostCPUHigh on host-02", 45.0, "P5")
    assert top["priority"] > other["priority"]
    assert top["opened_ms"] == T0_MS  # its first alert fired then
    kinds = sorted(c.kind for c in changes if c.incident_id == top["id"])
    assert kinds == ["alert_added"] * 6 + ["opened"]
    assert service.ingest([s for s in host_down_states()]) == []  # the same alerts again change nothing


def test_timeline_of_acknowledge_notes_assign_resolve(service: IncidentService, clock: FakeClock) -> None:
    run_cycles(service, clock, host_down_states(), 120)
    inc_id = int(service.list()["id"][0])
    before = service.get(inc_id).incident.version
    clock.now = (T0_MS + 4 * MIN) / 1000
    acked = service.acknowledge(inc_id, "ana")
    assert acked.state == "acknowledged" and acked.version == before + 1
    clock.advance(60)
    service.add_note(inc_id, "ana", "host-04 lost power; DC ticket 4711")
    service.assign(inc_id, "bo", "ana")
    clock.advance(120)
    service.resolve(inc_id, "bo", "power back")
    with pytest.raises(IncidentError, match="already resolved"):
        service.resolve(inc_id, "bo")
    detail = service.get(inc_id)
    assert detail.incident.state == "resolved" and detail.incident.assignee == "bo"
    lines = [(e.kind, e.actor, (e.at_ms - T0_MS) // 1000) for e in detail.events]
    assert lines == [
        ("alert", "pulse", 0),
        ("alert", "pulse", 20),
        ("alert", "pulse", 40),
        ("alert", "pulse", 60),  # a server at 60 s and HostDown at 60 s
        ("alert", "pulse", 60),
        ("alert", "pulse", 80),
        ("alert", "pulse", 100),
        ("ack", "ana", 240),
        ("note", "ana", 300),
        ("assign", "ana", 300),
        ("resolve", "bo", 420),
    ]
    assert detail.events[8].text == "host-04 lost power; DC ticket 4711"
    assert [e.id for e in detail.events] == sorted(e.id for e in detail.events if e.id is not None)


def test_auto_resolve_reopen_and_a_new_incident_after_the_window(
    make_service: Callable[..., IncidentService], clock: FakeClock
) -> None:
    service = make_service(reopen_window_s=600)
    a = fire("HostDown", T0_MS, host="h1")
    b = fire("McpServerDown", T0_MS + MIN, server="s1", host="h1", team="t")
    service.ingest([a, b], T0_MS + MIN)
    inc_id = int(service.list()["id"][0])
    changes = service.ingest([resolved(a, T0_MS + 5 * MIN), b], T0_MS + 5 * MIN)
    assert [c.kind for c in changes] == ["alert_resolved"]
    changes = service.ingest([resolved(b, T0_MS + 7 * MIN)], T0_MS + 8 * MIN)
    assert [c.kind for c in changes] == ["alert_resolved", "auto_resolved"]
    inc = service.get(inc_id).incident
    assert (inc.state, inc.resolved_ms, inc.resolved_by, inc.firing_count) == (
        "resolved",
        T0_MS + 7 * MIN,
        "pulse",
        0,
    )
    # the same alert fires again 5 minutes later: the incident reopens
    again = replace(a, at_ms=T0_MS + 12 * MIN)
    changes = service.ingest([again], T0_MS + 12 * MIN)
    assert [(c.incident_id, c.kind) for c in changes] == [(inc_id, "reopened"), (inc_id, "alert_refired")]
    inc = service.get(inc_id).incident
    assert (inc.state, inc.resolved_ms, inc.firing_count) == ("triggered", None, 1)
    service.ingest([resolved(again, T0_MS + 14 * MIN)], T0_MS + 14 * MIN)
    assert service.get(inc_id).incident.state == "resolved"
    # firing again long after the reopen window: a new incident
    late = replace(a, at_ms=T0_MS + 60 * MIN)
    changes = service.ingest([late], T0_MS + 60 * MIN)
    assert [c.kind for c in changes] == ["opened"] and changes[0].incident_id != inc_id
    assert service.list(states=["triggered"])["id"].to_list() == [changes[0].incident_id]


def test_manual_resolve_while_alerts_still_fire_stays_resolved(
    service: IncidentService, clock: FakeClock
) -> None:
    a = fire("HostDown", T0_MS, host="h1")
    service.ingest([a], T0_MS)
    inc_id = int(service.list()["id"][0])
    service.resolve(inc_id, "ana", "known maintenance")
    assert service.ingest([a], T0_MS + 5 * MIN) == []  # the same firing episode: nothing new
    assert service.ingest([a], T0_MS + 90 * MIN) == []  # long after: still the same episode
    assert service.list()["state"].to_list() == ["resolved"]


def test_min_alerts_waits_for_the_group(make_service: Callable[..., IncidentService]) -> None:
    service = make_service(min_alerts=2)
    a = fire("HostCPUHigh", T0_MS, host="h1")
    assert service.ingest([a], T0_MS) == [] and service.list().height == 0
    b = fire("HostMemoryHigh", T0_MS + 2 * MIN, host="h1")
    changes = service.ingest([b], T0_MS + 2 * MIN)  # only the change: the waiting alert is remembered
    assert sorted(c.kind for c in changes) == ["alert_added", "opened"]
    assert service.list().row(0, named=True)["opened_ms"] == T0_MS + 2 * MIN  # when the threshold was met


def test_notifications_escalations_and_lookups(service: IncidentService, clock: FakeClock) -> None:
    a = fire("HostDown", T0_MS, host="h1")
    service.ingest([a], T0_MS)
    inc_id = service.incidents_of([a.fingerprint, "0000000000000000"])[a.fingerprint]
    d = Delivery("slack-ops", T0_MS + 1000, True, "trigger", '{}:{alertname="HostDown"}', alerts=1)
    ev = service.record_notification(inc_id, d)
    assert ev.text == "trigger via slack-ops: delivered (1 alerts)" and ev.data["channel"] == "slack-ops"
    failed = service.record_notification(
        inc_id,
        {
            "channel": "pagerduty",
            "ok": False,
            "action": "trigger",
            "error": "HTTP 503",
            "at_ms": T0_MS + 2000,
        },
    )
    assert failed.text == "trigger via pagerduty: failed: HTTP 503"
    clock.now = (T0_MS + 3000) / 1000
    service.record_event(inc_id, "escalation", "escalated to the on-call lead", data={"step": 2})
    assert [e.kind for e in service.get(inc_id).events] == [
        "alert",
        "notification",
        "notification",
        "escalation",
    ]
    with pytest.raises(IncidentError, match="unknown event kind"):
        service.record_event(inc_id, "party", "no")
    with pytest.raises(IncidentNotFound, match="no incident 999"):
        service.record_notification(999, d)
    with pytest.raises(IncidentNotFound):
        service.acknowledge(999, "ana")


def test_a_stale_write_is_refused(service: IncidentService) -> None:
    service.ingest([fire("HostDown", T0_MS, host="h1")], T0_MS)
    detail = service.get(int(service.list()["id"][0]))
    service.acknowledge(detail.incident.id or 0, "ana")
    stale = IncidentWrite(replace(detail.incident, assignee="bo"), detail.incident.version)
    with pytest.raises(IncidentConflict, match="reload it and try again"):
        db.save_writes(service.engine, [stale])


def test_mtta_mttr_by_team_and_severity(service: IncidentService, clock: FakeClock) -> None:
    # three critical incidents of team t on three hosts, acknowledged after 1, 2 and 5 minutes and
    # resolved after 10, 30 and 20 minutes; a warning of team u never acknowledged
    plan = [("h1", 1, 10), ("h2", 2, 30), ("h3", 5, 20)]
    for i, (host, ack, res) in enumerate(plan):
        opened = T0_MS + i * 120 * MIN
        service.ingest([fire("McpServerDown", opened, server=f"s-{host}", host=host, team="t")], opened)
        inc_id = service.incidents_of(
            [fire("McpServerDown", opened, server=f"s-{host}", host=host, team="t").fingerprint]
        )
        (iid,) = inc_id.values()
        clock.now = (opened + ack * MIN) / 1000
        service.acknowledge(iid, "ana")
        clock.now = (opened + res * MIN) / 1000
        service.resolve(iid, "ana")
    service.ingest([fire("HostCPUHigh", T0_MS, severity="warning", server="x", host="h9", team="u")], T0_MS)
    out = service.mtta_mttr(T0_MS, T0_MS + 24 * 60 * MIN)
    rows = {(r["team"], r["severity"]): r for r in out.iter_rows(named=True)}
    t = rows[("t", "critical")]
    assert (t["incidents"], t["acknowledged"], t["resolved"]) == (3, 3, 3)
    assert t["mtta_median_s"] == 120.0 and t["mtta_p90_s"] == pytest.approx(264.0)  # 60, 120, 300 s
    assert t["mttr_median_s"] == 1200.0 and t["mttr_p90_s"] == pytest.approx(1680.0)  # 600, 1200, 1800 s
    u = rows[("u", "warning")]
    assert (u["incidents"], u["acknowledged"], u["mtta_median_s"]) == (1, 0, None)
    assert service.mtta_mttr(T0_MS + 60 * MIN, T0_MS + 61 * MIN).height == 0


def test_list_filters(service: IncidentService, clock: FakeClock) -> None:
    run_cycles(service, clock, host_down_states(), 120)
    assert service.list(teams=["payments"])["title"].to_list() == ["HostDown on host-04"]
    assert service.list(severities=["warning"])["title"].to_list() == ["HostCPUHigh on host-02"]
    assert service.list(states=["acknowledged"]).height == 0
    assert service.list(since_ms=T0_MS + 1).height == 1  # the warning opened 30 s in
    assert service.list(limit=1).height == 1


def test_channel_model_alerts_are_accepted(service: IncidentService) -> None:
    from core.kernel.records.alerts import Alert

    labels = {"alertname": "HostDown", "severity": "critical", "host": "h7"}
    firing = Alert(labels, {"summary": "h7 is down"}, "firing", T0_MS)
    pending = replace(state("HostDown", T0_MS, host="h8"), state="pending", fired_at_ms=None)
    changes = service.ingest([firing, pending], T0_MS + MIN)
    assert [c.kind for c in changes] == ["opened"]  # the pending alert is not an incident yet
    done = Alert(labels, {"summary": "h7 is down"}, "resolved", T0_MS, T0_MS + 4 * MIN)
    assert [c.kind for c in service.ingest([done], T0_MS + 5 * MIN)] == ["alert_resolved", "auto_resolved"]
    inc = service.get(changes[0].incident_id).incident
    assert (inc.state, inc.resolved_ms) == ("resolved", T0_MS + 4 * MIN)
