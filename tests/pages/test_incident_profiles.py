"""AppTest: a profile stored on an incident (as a latency regression records it) shows on the
incident's detail with its hottest functions, a flame graph and the speedscope download; the event
text (process and code names) is shown as text, never as Markdown."""

from __future__ import annotations

import json
import time

import pytest

from core.incidents.service import IncidentService
from core.kernel.records.alerts import Alert
from core.kernel.settings import load_settings
from core.optimization.profiles import Profile
from core.runtime.regression_profiles import event_of
from core.storage.tsdb import open_store
from tests.pages.conftest import AppFactory, add_users

INCIDENTS = "pages/incidents.py"
STACKS = {("main (srv.py:9)", "hot_**path** (srv.py:3)"): 90.0, ("main (srv.py:9)", "light (srv.py:6)"): 10.0}


@pytest.fixture
def url(tmp_path: pytest.TempPathFactory) -> tuple[str, int]:
    url = f"sqlite:///{tmp_path}/p.db"
    add_users(url)
    store = open_store(load_settings(database_url=url))
    now = int(time.time() * 1000)
    incidents = IncidentService(store.engine)
    labels = {"alertname": "McpToolLatencyJump", "server": "files", "team": "ml", "severity": "warning"}
    alert = Alert(labels, {"summary": "slow"}, "firing", now - 60_000)
    (change,) = incidents.ingest([alert], now)
    text, data = event_of("files", 4242, Profile(STACKS, "samples", "py-spy pid 4242", 5.0))
    incidents.record_event(change.incident_id, "profile", text, data=data)
    store.close()
    return url, change.incident_id


def test_the_incident_shows_its_profile_and_offers_the_file(app: AppFactory, url: tuple[str, int]) -> None:
    at = app(url[0], INCIDENTS, incident=str(url[1]))
    assert not at.exception
    (box,) = [e for e in at.expander if e.label.startswith("Profile recorded")]
    assert any("hottest hot_**path** (srv.py) (90% self)" in t.value for t in box.text)  # as text
    top = box.dataframe[0].value
    assert top["function"].tolist()[0] == "hot_**path** (srv.py)" and top["self_pct"].tolist()[0] == 90.0
    flame = json.loads(box.get("plotly_chart")[0].proto.spec)
    assert flame["data"][0]["type"] == "icicle"
    assert [d.proto.label for d in box.get("download_button")] == ["CSV", "Download speedscope JSON"]
