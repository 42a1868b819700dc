"""AppTest smoke tests of the Health page (the default page of app.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from core.kernel.settings import load_settings
from core.storage.repos.health_report import HEALTH_KEY
from core.storage.tsdb import open_store
from tests.pages.conftest import HOSTS, AppFactory, add_users, seed


def charts(at) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def titles(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [c["layout"]["title"]["text"] for c in charts(at)]


def test_renders_status_board_and_charts_with_data(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url)
    assert not at.exception
    assert not at.error
    assert at.title[0].value == "Health"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Hosts OK"] == "1 / 3"
    assert metrics["Hosts critical"] == "1"
    assert metrics["MCP servers up"] == "3 / 4"
    hosts = at.dataframe[0].value
    gpu = hosts[hosts["host"] == "gpu-1"].iloc[0]
    assert "critical" in gpu["status"]
    assert gpu["reason"].startswith("CPU ")
    assert "disk /data 85% > 80%" in hosts[hosts["host"] == "web-2"].iloc[0]["reason"]
    servers = at.dataframe[1].value
    assert servers.iloc[0]["server"] == "files"
    assert servers.iloc[0]["reason"] == "server down"
    specs = charts(at)
    assert len(specs) == 6  # the Hosts tab; the other tabs are computed only when opened
    specs += charts(app(seeded_url, tab="MCP servers")) + charts(app(seeded_url, tab="Heatmap"))
    assert len(specs) == 10
    for spec in specs:  # every chart has points
        assert spec["data"], spec["layout"]["title"]["text"]
        assert any(len(t.get("x") or []) > 10 for t in spec["data"])
    cpu = next(c for c in specs if c["layout"]["title"]["text"] == "CPU utilisation")
    assert sorted(t["name"] for t in cpu["data"]) == sorted(HOSTS)


def test_the_heap_is_frozen_so_the_collection_after_each_run_is_cheap(
    app: AppFactory, seeded_url: str
) -> None:
    """Streamlit runs gc.collect(2) after every run (also before the rerun that follows a sign-in);
    app.py freezes the objects of the imports once, so that collection skips them."""
    import gc

    app(seeded_url)
    assert gc.get_freeze_count() > 50_000


def test_every_table_and_chart_has_a_csv_download(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url)
    buttons = at.get("download_button")
    assert len(buttons) == len(at.get("plotly_chart")) + len(at.dataframe)
    names = [b.proto.label for b in buttons]
    assert set(names) == {"CSV"}


def test_empty_database_shows_what_to_do(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url)
    assert not at.exception
    assert "pulse demo --days 7" in at.info[0].value
    assert "pulse collect" in at.info[0].value
    assert not at.get("plotly_chart")
    assert not at.metric


def test_query_params_set_the_view_and_follow_the_controls(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, range="6h", host="web-2")
    assert not at.exception
    assert at.selectbox(key="w.range").value == "6h"
    assert at.multiselect(key="w.hosts").value == ["web-2"]
    assert at.dataframe[0].value["host"].tolist() == ["web-2"]
    assert at.query_params["range"] == "6h"
    assert at.query_params["host"] == "web-2"
    at.selectbox(key="w.range").select("24h").run()
    at.multiselect(key="w.teams").select("platform").run()
    assert at.query_params["range"] == "24h"
    assert at.query_params["team"] == "platform"
    assert not at.toggle(key="w.live").value  # ranges over 6 h are not live by default
    assert set(at.dataframe[1].value["server"]) == {"search"}  # team platform on host web-2


def test_unknown_filter_values_and_bad_ranges_are_dropped(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, range="1y", host=["web-1", "nope"])
    assert not at.exception
    assert at.selectbox(key="w.range").value == "1h"
    assert at.query_params["host"] == "web-1"
    assert at.query_params["range"] == "1h"


def test_custom_range_from_the_url(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, **{"from": "2020-01-01T00:00Z", "to": "2020-01-01T06:00Z"})
    assert not at.exception
    assert at.selectbox(key="w.range").value == "custom"
    assert str(at.date_input(key="w.from_date").value) == "2020-01-01"
    assert at.toggle(key="w.live").disabled
    assert any("No samples between 2020-01-01 00:00 UTC" in i.value for i in at.info)
    assert at.query_params["range"] == "custom"
    assert at.query_params["from"] == "2020-01-01T00:00Z"


def test_live_refresh_is_on_for_short_ranges_and_can_be_switched_off(
    app: AppFactory, seeded_url: str
) -> None:
    at = app(seeded_url, range="15m")
    assert at.toggle(key="w.live").value
    at.toggle(key="w.live").set_value(False).run()
    assert not at.exception
    assert at.query_params["live"] == "0"
    assert any("live refresh off" in c.value for c in at.caption)


def test_heatmap_metric_is_kept_in_the_url(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, heatmap="disk", tab="Heatmap")
    assert at.query_params["tab"] == "Heatmap"
    assert at.selectbox(key="w.health.heatmap_panel").value == "disk"
    assert "Disk utilisation (fullest mount) per host" in titles(at)


# -- collectors and sources ---------------------------------------------------------------------
def _publish(url: str, health: dict[str, dict[str, object]]) -> None:
    store = open_store(load_settings(database_url=url))
    store.set_meta(HEALTH_KEY, json.dumps(health))
    store.close()


def _daemon_report(now_ms: int) -> dict[str, dict[str, object]]:
    return {
        "host": {
            "state": "up",
            "last_error": None,
            "last_success_ms": now_ms - 5_000,
            "last_duration_s": 0.012,
            "interval_s": 15,
            "partial_errors": {"disk": "PermissionError: /mnt/secret"},
        },
        "prometheus": {
            "state": "degraded",
            "last_error": "ConnectError: connection refused",
            "last_success_ms": now_ms - 40_000,
            "last_duration_s": 2.0,
            "interval_s": 30,
        },
        "demo": {  # said "up", but the daemon stopped an hour ago
            "state": "up",
            "last_error": None,
            "last_success_ms": now_ms - 3_600_000,
            "last_duration_s": 0.2,
            "interval_s": 15,
        },
    }


def _collectors_table(at):  # type: ignore[no-untyped-def]
    tables = [d.value for d in at.dataframe if "collector" in d.value.columns]
    assert len(tables) == 1
    return tables[0]


def test_collectors_table_shows_the_daemons_report(app: AppFactory, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/p.db"
    now = int(time.time() * 1000)
    seed(url, now, hours=0.5)
    add_users(url, ("admin", "viewer"))
    _publish(url, _daemon_report(now))
    at = app(url)
    assert not at.exception
    assert "Collectors and sources" in [h.value for h in at.subheader]
    table = _collectors_table(at)
    assert table["collector"].tolist() == ["demo", "prometheus", "host"]  # worst first
    rows = table.set_index("collector")
    assert rows.loc["demo", "state"] == "down"
    assert "is `pulse collect` running?" in rows.loc["demo", "error"]
    assert rows.loc["prometheus", "state"] == "degraded"
    assert rows.loc["prometheus", "error"] == "ConnectError: connection refused"
    assert rows.loc["host", "state"] == "up"
    assert rows.loc["host", "age"].endswith(" s ago")
    assert rows.loc["host", "error"] == "disk: PermissionError: /mnt/secret"
    assert rows.loc["host", "last_duration_s"] == pytest.approx(12.0)  # shown in ms
    assert len(at.get("download_button")) == len(at.get("plotly_chart")) + len(at.dataframe)  # its CSV too
    # no team data in it: a viewer without any team sees the same table
    viewer = app(url, user="viewer")
    assert not viewer.exception
    assert _collectors_table(viewer)["collector"].tolist() == ["demo", "prometheus", "host"]


def test_collectors_show_even_before_any_fleet_data(app: AppFactory, empty_url: str) -> None:
    _publish(empty_url, _daemon_report(int(time.time() * 1000)))
    at = app(empty_url)
    assert not at.exception
    assert "pulse demo --days 7" in at.info[0].value  # the fleet's empty state comes first
    assert _collectors_table(at)["collector"].tolist() == ["demo", "prometheus", "host"]


def test_collectors_empty_state_before_the_daemon_reports(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url)
    assert not at.exception
    assert any(
        "The collector daemon has not reported yet: start `pulse collect` (or `pulse up`)" in i.value
        for i in at.info
    )
    assert all("collector" not in d.value.columns for d in at.dataframe)
