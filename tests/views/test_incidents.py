"""The Incidents view over IncidentService: scoped list, detail frames, report files, MTTA/MTTR."""

from __future__ import annotations

import polars as pl

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


def test_the_sidebar_filters_select_the_incidents_they_touch() -> None:
    from core.views import Filters
    from core.views.incidents import touching

    df = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "teams": [["a"], ["b"], ["a", "b"]],
            "server_names": [["s1"], ["s2"], ["s3"]],
            "host_names": [["h1"], ["h2"], ["h1", "h2"]],
        }
    )
    assert touching(df, Filters())["id"].to_list() == [1, 2, 3]
    assert touching(df, Filters(teams=("b",)))["id"].to_list() == [2, 3]
    assert touching(df, Filters(servers=("s1",)))["id"].to_list() == [1]
    assert touching(df, Filters(hosts=("h2",), teams=("a",)))["id"].to_list() == [3]


def test_alert_counts_follow_the_filtered_table() -> None:
    from core.views.alerts import counts_of

    table = pl.DataFrame(
        {"state": ["firing", "firing", "pending", "resolved"], "muted": [None, "silenced by x", None, "y"]}
    )
    assert counts_of(table) == {"firing": 2, "pending": 1, "muted": 1}
    assert counts_of(table.head(1)) == {"firing": 1, "pending": 0, "muted": 0}
