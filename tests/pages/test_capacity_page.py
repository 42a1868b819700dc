"""The Capacity view: forecast and what-if on a seeded fleet, bad combinations, scoping, CSV."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from pages import _keys as K
from tests.pages.capacity_fleet import FORMULA_TEAM, seed_capacity
from tests.pages.conftest import AppFactory, add_users, copy_db

PAGE = "pages/capacity.py"


@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('capacity')}/c.db"
    seed_capacity(url, int(time.time() * 1000))
    add_users(url)
    return url


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def values(y: Any) -> list[float]:
    """A trace's values as the browser gets them: a list, or plotly's typed array (base64)."""
    if isinstance(y, dict) and "bdata" in y:
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).tolist()
    return list(y)


def traces(at: AppTest, index: int) -> dict[str, list[float]]:
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return {t["name"]: values(t["y"]) for t in spec["data"] if t.get("mode") == "lines"}


def plain(text: str) -> str:
    """Markdown-escaped text (md_text) as the user reads it."""
    return text.replace("\u200b", "").replace("\\", "")


def errors(at: AppTest) -> list[str]:
    return [plain(e.value) for e in at.error]


def table(at: AppTest, first: str) -> Any:
    """The table whose first column is ``first``."""
    return next(d.value for d in at.dataframe if d.value.columns[0] == first)


def slider(at: AppTest, field: str) -> Any:
    return at.slider(key=K.W_CAP_PREFIX + field)


def test_admin_sees_forecast_scenario_exhaustion_and_history(app: AppFactory, fleet_url: str) -> None:
    at = app(fleet_url, PAGE)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    shown = metrics(at)
    assert shown["Hosts"] == "3"
    assert "Cost / month (USD)" in shown
    # the tiles are narrow: short values that fit (the help says the rest)
    for label in ("CPU over target", "Memory over target"):
        assert re.fullmatch(r"now|> \d+ d|[A-Z][a-z]{2} \d{2}", shown[label]), shown[label]
    assert "Needed at 70%" in shown
    cpu = traces(at, 0)
    assert {"History", "Baseline forecast", "Scenario"} <= set(cpu)
    assert len(cpu["Baseline forecast"]) == 30 * 24  # the default horizon, hourly
    names = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert names[:2] == ["CPU utilization", "Memory utilization"]
    assert any("hour of the week" in n for n in names)
    exhaustion = table(at, "Resource")
    assert set(exhaustion["Plan"]) == {"Baseline", "Scenario"}
    assert len(at.get("download_button")) == len(at.get("plotly_chart")) + len(at.dataframe)
    growth = table(at, "team")
    assert growth["growth_pct"].notna().all()  # 5 days of history: the last day against the first
    assert any("the range's last day against its first day" in c.value for c in at.caption)


def test_moving_sliders_re_projects_the_scenario(app: AppFactory, fleet_url: str) -> None:
    at = app(fleet_url, PAGE)
    before = traces(at, 0)
    slider(at, "user_growth_pct").set_value(100.0).run()
    assert not at.exception
    after = traces(at, 0)
    assert after["Baseline forecast"] == before["Baseline forecast"]
    assert after["Scenario"][-1] == pytest.approx(2 * after["Baseline forecast"][-1])
    slider(at, "hosts_added").set_value(3).run()  # twice the hosts of the same average size
    assert metrics(at)["Hosts"] == "6"
    doubled = traces(at, 0)
    assert doubled["Scenario"][-1] == pytest.approx(after["Scenario"][-1] / 2)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hosts_added", -3, "zero hosts: the fleet has 3 hosts and the scenario removes 3"),
        ("target_utilization", 0.0, "target utilization 0 %"),
    ],
)
def test_bad_combinations_show_a_message_not_a_traceback(
    app: AppFactory, fleet_url: str, field: str, value: float, message: str
) -> None:
    at = app(fleet_url, PAGE)
    slider(at, field).set_value(value).run()
    assert not at.exception
    assert any(message in e for e in errors(at)), errors(at)
    assert len(at.get("plotly_chart")) == 1  # only the history heatmap: no projection drawn


def test_a_team_lead_plans_on_their_teams_hosts_only(app: AppFactory, fleet_url: str) -> None:
    lead = app(fleet_url, PAGE, user="lead")  # platform: github on web-1, search on web-2
    assert not lead.exception
    assert metrics(lead)["Hosts"] == "2"
    assert lead.selectbox(key=K.W_CAP_PREFIX + "profile_team").options == ["(average team)", "platform"]
    assert any("Scoped to your teams (platform)" in plain(c.value) for c in lead.caption)
    assert set(table(lead, "team")["team"]) == {"platform"}  # growth per team
    assert set(table(lead, "server")["server"]) == {"github", "search"}  # top movers
    admin = app(fleet_url, PAGE)
    assert metrics(admin)["Hosts"] == "3"


def test_a_developer_may_not_open_capacity(app: AppFactory, fleet_url: str) -> None:
    at = app(fleet_url, PAGE, user="dev")
    assert not at.exception
    assert any("may not open" in e for e in errors(at))
    assert not at.get("plotly_chart")


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The deferred CSV callables the download buttons register, by file name."""
    seen: dict[str, Any] = {}
    original = MediaFileManager.add_deferred

    def capture(self: MediaFileManager, data: Any, mimetype: Any, coordinates: str, **kw: Any) -> str:
        seen[kw.get("file_name") or str(len(seen))] = data
        return str(original(self, data, mimetype, coordinates, **kw))

    monkeypatch.setattr(MediaFileManager, "add_deferred", capture)
    yield seen


def test_saved_scenarios_compare_side_by_side_and_csv_is_neutralised(
    app: AppFactory, fleet_url: str, downloads: dict[str, Any]
) -> None:
    at = app(fleet_url, PAGE)
    at.text_input(key=K.W_CAP_NAME).input("=HYPERLINK(1)")
    at.button(key=K.W_CAP_SAVE).click().run()
    assert any("not allowed" in e for e in errors(at)), errors(at)
    slider(at, "user_growth_pct").set_value(50.0).run()
    at.text_input(key=K.W_CAP_NAME).input("Growth 50").run()
    at.button(key=K.W_CAP_SAVE).click().run()
    assert any("Saved scenario 'Growth 50'" in plain(s.value) for s in at.success)
    slider(at, "user_growth_pct").set_value(0.0).run()
    slider(at, "hosts_added").set_value(-3).run()
    at.text_input(key=K.W_CAP_NAME).input("No hosts").run()
    at.button(key=K.W_CAP_SAVE).click().run()
    compared = table(at, "name")
    assert list(compared["name"]) == ["Growth 50", "No hosts"]
    assert compared["problem"][1].startswith("zero hosts")
    assert compared["hosts_needed"][0] >= 1
    at.selectbox(key=K.W_CAP_PICK).select("Growth 50").run()
    at.button(key=K.W_CAP_LOAD).click().run()
    assert slider(at, "user_growth_pct").value == 50.0 and slider(at, "hosts_added").value == 0
    csv = {
        name: fn() for name, fn in downloads.items() if "team-growth" in str(name) or "scenarios" in str(name)
    }
    assert csv, list(downloads)
    growth = next(v for k, v in csv.items() if "team-growth" in k).decode()
    assert f"'{FORMULA_TEAM}" in growth and f",{FORMULA_TEAM}," not in growth
    scenarios = next(v for k, v in csv.items() if "scenarios" in k).decode()
    assert "Growth 50" in scenarios and "zero hosts" in scenarios
    at.button(key=K.W_CAP_DELETE).click().run()
    assert list(table(at, "name")["name"]) == ["No hosts"]


def test_health_draws_anomaly_bands_as_an_option(app: AppFactory, fleet_url: str) -> None:
    at = app(fleet_url, "pages/health.py")
    plain_names = [t["name"] for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]]
    assert not any("band" in n for n in plain_names)
    at.toggle(key=K.W_HEALTH_BANDS).set_value(True).run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)  # CPU utilisation per host
    names = [t["name"] for t in spec["data"]]
    assert names[:3] == ["gpu-1 normal band", "web-1 normal band", "web-2 normal band"]
    assert "anomaly" not in names  # the seeded wave repeats every day: nothing is anomalous
    lead = app(fleet_url, "pages/health.py", user="lead")
    lead.toggle(key=K.W_HEALTH_BANDS).set_value(True).run()
    bands = [
        t["name"] for t in json.loads(lead.get("plotly_chart")[0].proto.spec)["data"] if "band" in t["name"]
    ]
    assert bands == ["web-1 normal band", "web-2 normal band"]  # scoped like the lines


def test_planner_prices_start_at_the_installations_prices(
    app: AppFactory, fleet_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The what-if prices start where Usage and the snapshots price (settings.prices)."""
    default = metrics(app(fleet_url, PAGE))["Cost / month (USD)"]
    for name, value in (("CPU_CORE_HOUR", "0.062"), ("MEMORY_GIB_HOUR", "0.008"), ("CURRENCY", "EUR")):
        monkeypatch.setenv(f"PULSE_PRICES__{name}", value)
    at = app(copy_db(fleet_url, tmp_path), PAGE)
    assert not at.exception
    assert at.number_input(key=K.W_CAP_PREFIX + "price_core_hour").value == 0.062
    assert at.number_input(key=K.W_CAP_PREFIX + "price_gib_hour").value == 0.008
    doubled = metrics(at)["Cost / month (EUR)"]
    assert float(doubled.replace(",", "")) == pytest.approx(2 * float(default.replace(",", "")), rel=0.01)
