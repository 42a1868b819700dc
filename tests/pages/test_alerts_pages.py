"""AppTest of the Alerts and Incidents pages over alert states and incidents in the test fleet."""

from __future__ import annotations

import time

import pytest

from core.alerts.pipeline import to_alert
from core.incidents.service import IncidentService
from core.kernel.records.alerts import AlertState, Transition, fingerprint
from core.kernel.settings import load_settings
from core.storage.repos.alert_states import save_states
from core.storage.tsdb import open_store
from tests.pages.conftest import AppFactory, add_users, seed

ALERTS = "pages/alerts.py"
INCIDENTS = "pages/incidents.py"


def state(rule: str, st: str, at: int, **labels: str) -> AlertState:
    return AlertState(
        rule,
        fingerprint(labels),
        labels,
        {"summary": f"{labels['alertname']} on {labels.get('host')}"},
        st,
        at - 60_000,
        at if st == "firing" else None,
        None,
        at,
        0.97,
    )  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def alerting_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('alerting')}/p.db"
    now = int(time.time() * 1000)
    seed(url, now, hours=1.0)
    add_users(url)
    store = open_store(load_settings(database_url=url))
    states = [
        state(
            "mcp-servers/McpServerDown",
            "firing",
            now - 120_000,
            alertname="McpServerDown",
            severity="critical",
            host="gpu-1",
            server="files",
            team="ml",
        ),
        state(
            "hosts/HostCPUHigh",
            "firing",
            now - 600_000,
            alertname="HostCPUHigh",
            severity="warning",
            host="gpu-1",
        ),
        state(
            "mcp-servers/McpToolErrorRateHigh",
            "pending",
            now - 30_000,
            alertname="McpToolErrorRateHigh",
            severity="warning",
            host="web-1",
            server="github",
            team="platform",
        ),
    ]
    moves = [
        Transition(s.rule, s.fingerprint, s.labels, "inactive", s.state, s.active_at_ms, s.value)
        for s in states
    ]
    save_states(store.engine, {s.rule for s in states}, states, moves)
    IncidentService(store.engine).ingest([a for s in states if (a := to_alert(s)) is not None], now)
    store.close()
    return url


def test_alerts_page_lists_firing_then_pending_by_priority(app: AppFactory, alerting_url: str) -> None:
    at = app(alerting_url, ALERTS)
    assert not at.exception
    assert at.title[0].value == "Alerts"
    assert {m.label: m.value for m in at.metric} == {"Firing": "2", "Pending": "1", "Muted": "0"}
    df = at.dataframe[0].value
    assert df["alertname"].tolist() == ["McpServerDown", "HostCPUHigh", "McpToolErrorRateHigh"]
    assert df["state"].tolist() == ["firing", "firing", "pending"]
    assert len(at.get("download_button")) >= 1


@pytest.mark.parametrize(
    ("user", "expected"),
    [("lead", ["McpToolErrorRateHigh"]), ("viewer-ml", ["McpServerDown", "HostCPUHigh"])],
)
def test_alerts_are_scoped_to_the_users_teams(
    app: AppFactory, alerting_url: str, user: str, expected: list[str]
) -> None:
    at = app(alerting_url, ALERTS, user=user)
    assert not at.exception
    assert at.dataframe[0].value["alertname"].tolist() == expected


def test_incidents_page_lists_the_incident_and_mtta(app: AppFactory, alerting_url: str) -> None:
    at = app(alerting_url, INCIDENTS)
    assert not at.exception
    assert at.title[0].value == "Incidents"
    incidents = at.dataframe[0].value
    assert len(incidents) >= 1 and set(incidents["state"]) == {"triggered"}
    assert "McpServerDown" in " ".join(incidents["title"].tolist()) or "HostCPUHigh" in " ".join(
        incidents["title"].tolist()
    )


def test_a_team_lead_of_another_team_sees_no_incident(app: AppFactory, alerting_url: str) -> None:
    at = app(alerting_url, INCIDENTS, user="lead")
    assert not at.exception
    assert not at.dataframe or at.dataframe[0].value.empty
    assert any("No open incident" in s.value for s in at.success)


def test_empty_database_pages_say_what_to_do(app: AppFactory, empty_url: str) -> None:
    for page in (ALERTS, INCIDENTS):
        at = app(empty_url, page)
        assert not at.exception, page
        assert at.success, page


def test_silence_an_alert_from_the_page(app: AppFactory, alerting_url: str) -> None:
    at = app(alerting_url, ALERTS)
    fp = next(o for o in at.selectbox(key="w.alerts.pick").options if "HostCPUHigh" in o)
    at.selectbox(key="w.alerts.pick").select(fp).run()  # type: ignore[arg-type]
    assert not at.exception
    assert [s.value for s in at.subheader][0].startswith("HostCPUHigh")
    at.text_area[0].set_value('alertname="HostCPUHigh"\nhost="gpu-1"')
    at.text_input[0].set_value("kernel upgrade, rebooting")
    next(b for b in at.button if b.label == "Preview").click().run()
    assert any("This silence matches 1 of your alerts now" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Silence").click().run()
    assert not at.exception
    assert any("Silenced until" in s.value for s in at.success)
    at = app(alerting_url, ALERTS)
    df = at.dataframe[0].value
    assert df.loc[df["alertname"] == "HostCPUHigh", "muted"].iloc[0].startswith("silenced by")


def test_open_acknowledge_and_note_an_incident(app: AppFactory, alerting_url: str) -> None:
    at = app(alerting_url, INCIDENTS)
    pick = at.selectbox(key="w.incidents.incident")
    iid = pick.options[1]
    pick.select(iid).run()
    assert not at.exception
    assert at.query_params["incident"]
    assert at.subheader[0].value.startswith("#")
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert not at.exception
    at = app(alerting_url, INCIDENTS, incident=at.query_params["incident"])  # the shared link opens it
    assert {m.label: m.value for m in at.metric}["State"] == "acknowledged"
    assert "acknowledged" in at.caption[-1].value or any("by admin" in c.value for c in at.caption)
    at.text_area[0].set_value("=cmd|' /C calc'!A0 restarted the container")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception
    timeline = at.dataframe[2].value
    assert timeline["kind"].tolist()[-2:] == ["ack", "note"]


def test_a_viewer_may_look_but_not_act(app: AppFactory, alerting_url: str) -> None:
    at = app(alerting_url, INCIDENTS, user="viewer")
    at.selectbox(key="w.incidents.incident").select(at.selectbox(key="w.incidents.incident").options[1]).run()
    assert not at.exception
    assert not [b for b in at.button if b.label in ("Acknowledge", "Resolve")]


def test_health_shows_the_firing_alerts_count_with_a_link(app: AppFactory, alerting_url: str) -> None:
    at = app(alerting_url, "pages/health.py")
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Firing alerts"] == "2"
    lead = app(alerting_url, "pages/health.py", user="lead")
    assert {m.label: m.value for m in lead.metric}["Firing alerts"] == "0"  # platform's alert is pending
    links = [el for el in at.get("page_link")]
    assert any("alerts" in el.proto.page for el in links)


def test_a_notifications_link_opens_its_alert(app: AppFactory, alerting_url: str) -> None:
    """Notifications carry ``generatorURL`` = the Alerts page with ``?alert=<fingerprint>``."""
    labels = {"alertname": "HostCPUHigh", "severity": "warning", "host": "gpu-1"}
    a = to_alert(state("hosts/HostCPUHigh", "firing", 0, **labels), "https://pulse.example/")
    assert a is not None and a.generator_url == f"https://pulse.example/alerts?alert={fingerprint(labels)}"
    at = app(alerting_url, ALERTS, alert=fingerprint(labels))
    assert not at.exception
    assert at.selectbox(key="w.alerts.pick").value == fingerprint(labels)
    assert [s.value for s in at.subheader][0].startswith("HostCPUHigh")


def test_a_link_to_an_alert_or_incident_not_listed_says_so(app: AppFactory, alerting_url: str) -> None:
    at = app(alerting_url, ALERTS, alert="0123456789abcdef")
    assert not at.exception
    assert any("linked alert is not firing or pending" in i.value for i in at.info)
    assert at.selectbox(key="w.alerts.pick").value is None
    at = app(alerting_url, INCIDENTS, incident="99999")
    assert not at.exception
    assert any("linked incident 99999 is not in this list" in i.value for i in at.info)
    at = app(alerting_url, INCIDENTS, incident="*bold*")  # the link's text is shown as text
    assert any("\\*bold\\*" in i.value for i in at.info)
