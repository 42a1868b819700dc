"""AppTest smoke tests of the Performance page."""

from __future__ import annotations

import json

from core.kernel.times import fmt_url
from tests.pages.conftest import SEEDED_AT, TOOLS, AppFactory

PAGE = "pages/performance.py"


def charts(at) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    return {s["layout"]["title"]["text"]: s for s in specs}


def test_renders_kpis_charts_and_top_tables(app: AppFactory, seeded_url: str) -> None:
    # the last hour of the seeded data, however long ago it was written (a slow run moves "now" on)
    end = SEEDED_AT[seeded_url]
    at = app(seeded_url, PAGE, range="custom", **{"from": fmt_url(end - 3_600_000), "to": fmt_url(end)})
    assert not at.exception
    assert at.title[0].value == "Performance"
    kpis = {m.label: m.value for m in at.metric}
    assert set(kpis) == {"Tool calls", "Calls per second", "Error ratio", "p95 latency", "p99 latency"}
    assert kpis["Calls per second"] == "10.5/s"
    specs = charts(at)
    assert {
        "Call rate per server",
        "Error rate per server",
        "p95 latency per server, slowest",
    } <= set(specs)
    for title, spec in specs.items():
        assert spec["data"], title
        assert any(len(t.get("x") or t.get("y") or []) > 10 for t in spec["data"]), title
    assert sorted(t["name"] for t in specs["Latency p50 / p95 / p99 (call-weighted)"]["data"]) == [
        "p50",
        "p95",
        "p99",
    ]
    slowest, failing, everything = (df.value for df in at.dataframe[:3])
    assert slowest["gen_ai_tool_name"].tolist()[0] == "query"  # postgres query, p95 1.5 s
    assert failing["gen_ai_tool_name"].tolist()[0] == "create_pr"  # 20 % errors
    assert len(everything) == len(TOOLS)
    assert len(at.get("download_button")) == len(at.get("plotly_chart")) + len(at.dataframe)


def test_drill_down_from_server_to_its_tools_is_in_the_url(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, PAGE)
    at.selectbox(key="w.performance.server").select("github").run()
    assert not at.exception
    assert at.query_params["drill"] == "github"
    specs = charts(at)
    rate = specs["Call rate per tool of github"]
    assert sorted(t["name"] for t in rate["data"]) == ["create_pr", "search_issues"]
    assert set(at.dataframe[2].value["server"]) == {"github"}


def test_drill_down_link_opens_directly(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, PAGE, drill="postgres")
    assert not at.exception
    assert at.selectbox(key="w.performance.server").value == "postgres"
    assert "Call rate per tool of postgres" in charts(at)


def test_filters_survive_switching_pages(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, None, range="6h", team="data")
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.selectbox(key="w.range").value == "6h"
    assert at.query_params["team"] == "data"
    assert set(at.dataframe[2].value["server"]) == {"postgres"}


def test_empty_database_shows_what_to_do(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, PAGE)
    assert not at.exception
    assert "pulse demo --days 7" in at.info[0].value
    assert not at.get("plotly_chart")


def test_a_range_without_tool_calls_says_so(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, PAGE, **{"from": "2020-01-01T00:00Z", "to": "2020-01-02T00:00Z"})
    assert not at.exception
    assert "No tool calls between" in at.info[0].value
