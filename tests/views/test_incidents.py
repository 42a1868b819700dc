"""The Incidents view over IncidentService: scoped list, detail frames, report files, MTTA/MTTR."""

from __future__ import annotations

from core.incidents.service import IncidentService
from core.kernel.records.alerts import Alert
from core.storage.tsdb import Store
from core.views.incidents import detail_frames, incident_list, mtta_mttr, report_files
from tests.conftest import FakeClock


def fire(svc: IncidentService, at: int, **labels: str) -> None:
    svc.ingest(
        [Alert({"severity": "critical", **labels}, {"summary": "=cmd|' /C calc'!A0"}, "firing", at)], at
    )


def test_list_detail_report_and_scoping(store: Store, clock: FakeClock) -> None:
    svc = IncidentService(store.engine, clock=clock)
    fire(svc, clock.ms, alertname="McpServerDown", host="h1", server="s1", team="a")
    fire(svc, clock.ms + 1000, alertname="HostCPUHigh", host="h9", team="b")
    clock.advance(120)
    everyone = incident_list(svc, None)
    assert everyone.height == 2 and set(everyone["teams"].to_list()) == {"a", "b"}
    only_a = incident_list(svc, frozenset({"a"}))
    assert only_a["teams"].to_list() == ["a"]
    assert incident_list(svc, frozenset()).is_empty()

    iid = int(only_a["id"][0])
    svc.acknowledge(iid, "ana")
    svc.add_note(iid, "ana", '=HYPERLINK("http://evil")')
    frames = detail_frames(svc, iid)
    assert frames.alerts["alertname"].to_list() == ["McpServerDown"]
    assert frames.timeline["kind"].to_list()[-2:] == ["ack", "note"]
    files = report_files(svc, iid, store)
    assert "# " in files.markdown and "McpServerDown" in files.markdown
    assert b"'=HYPERLINK" in files.timeline_csv and b"\n=HYPERLINK" not in files.timeline_csv
    m = mtta_mttr(svc, clock.ms - 3_600_000, clock.ms + 3_600_000, frozenset({"a"}))
    assert set(m["team"].to_list()) <= {"a"} and m["mtta_median_s"].to_list() == [120.0]
