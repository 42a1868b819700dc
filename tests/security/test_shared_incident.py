"""An incident two teams share (their servers run on one host, so their alerts correlate), read
and acted on through the seam by each team: neither sees the other's server, host alert or team.

Found by the role walk in a real browser (tests/e2e/test_role_walk.py): team a's lead saw team b's
name in the incident list, b's server and alert in the detail, timeline and report, and had no
Acknowledge button (the page checked the first team, the seam required every team).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.access.policy import Principal, Role
from core.incidents.service import IncidentService
from core.kernel.errors import PermissionDenied
from core.kernel.records.alerts import Alert
from core.kernel.records.notifications import Delivery
from core.kernel.samples import Sample, labels_of
from core.seam import Backend, Console
from core.storage.tsdb import Store
from core.views import Filters
from tests.conftest import FakeClock
from tests.security.conftest import ADMIN, DEV_A, LEAD_A, VIEWER_A
from tests.security.test_scoping_walk import assert_no_team_b, text_of

LEAD_B = Principal("lead-b", Role.TEAM_LEAD, frozenset({"b"}))


@pytest.fixture
def shared(make_store: Callable[..., Store], clock: FakeClock) -> tuple[Backend, int]:
    """s1 (team a) and s2 (team b) run on h1; one alert each, a minute apart: one incident."""
    store = make_store()
    now = int(clock() * 1000)
    store.write(
        [
            Sample("mcp_server_up", labels_of(server=s, host="h1", team=t), now - i * 15_000, 1.0)
            for s, t in (("s1", "a"), ("s2", "b"))
            for i in range(8)
        ]
    )
    svc = IncidentService(store.engine, clock=clock)
    for at, server, team in ((now - 60_000, "s2", "b"), (now, "s1", "a")):
        labels = {"alertname": "McpServerDown", "severity": "critical", "host": "h1", "server": server}
        alert = Alert({**labels, "team": team}, {"summary": f"{server} of {team} is down"}, "firing", at)
        svc.ingest([alert], at)
    [iid] = svc.list()["id"].to_list()
    for server, team in (("s2", "b"), ("s1", "a")):  # each team's group notified on its channel
        key = f'{{}}:{{alertname="McpServerDown", server="{server}", team="{team}"}}'
        svc.record_notification(iid, Delivery(f"pager-{team}", now, True, "trigger", key, alerts=1))
    return Backend(store.settings, store), int(iid)


def test_the_admin_sees_the_whole_shared_incident(shared: tuple[Backend, int]) -> None:
    backend, iid = shared
    d = backend.console(ADMIN).incidents.detail(iid)
    assert d.detail.incident.teams == ("a", "b")
    assert sorted(d.alerts["server"].to_list()) == ["s1", "s2"]
    assert d.detail.incident.title == "s2 of b is down"  # named after the first alert: team b's


@pytest.mark.parametrize("who", [LEAD_A, DEV_A, VIEWER_A])
def test_each_team_sees_only_its_own_part(shared: tuple[Backend, int], who: Principal) -> None:
    backend, iid = shared
    c: Console = backend.console(who)
    listed = c.incidents.listing()
    assert listed["id"].to_list() == [iid]
    assert listed["teams"].to_list() == ["a"] and listed["title"].to_list() == ["s1 of a is down"]
    assert listed["alert_count"].to_list() == [1] and listed["servers"].to_list() == [1]
    d = c.incidents.detail(iid)
    report = c.incidents.report(iid)
    files = c.incidents.report_files(iid)
    seen = {
        "list": listed,
        "alerts": d.alerts,
        "timeline": d.timeline,
        "facts": d.detail.incident,
        "report": report,
        "files": [files.markdown, files.timeline_csv, files.alerts_csv],
        "charts": c.incidents.report_charts(report),
    }
    for what, value in seen.items():
        assert_no_team_b(what, value)
    assert "s1" in text_of(d.alerts)  # their own part is there
    assert "via pager-a" in text_of(d.timeline) and "pager-b" not in text_of(files.timeline_csv)
    # a filter naming the other team does not reveal that it shares the incident
    assert c.incidents.listing(filters=Filters(teams=("b",))).is_empty()
    assert c.incidents.listing(filters=Filters(servers=("s2",))).is_empty()


def test_either_teams_lead_may_act_on_the_shared_incident(shared: tuple[Backend, int]) -> None:
    backend, iid = shared
    backend.console(LEAD_A).incidents.acknowledge(iid)
    backend.console(LEAD_B).incidents.add_note(iid, "b looked too")
    backend.console(LEAD_B).incidents.resolve(iid)
    backend.console(DEV_A).incidents.add_note(iid, "a developer's note")
    with pytest.raises(PermissionDenied):
        backend.console(VIEWER_A).incidents.acknowledge(iid)
    with pytest.raises(PermissionDenied):
        backend.console(DEV_A).incidents.reopen(iid)  # resolve and reopen are for leads
    timeline = backend.console(ADMIN).incidents.detail(iid).timeline
    assert timeline["kind"].to_list()[-4:] == ["ack", "note", "resolve", "note"]
