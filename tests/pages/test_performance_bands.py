"""The Performance page's anomaly bands (AppTest) on the capacity fleet: days of history, a p95
latency spike on one server. Off by default; on, the p95 and error charts get bands and crosses,
scoped like their lines."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from pages import _keys as K
from tests.pages.capacity_fleet import seed_capacity
from tests.pages.conftest import AppFactory, add_users

PAGE = "pages/performance.py"


@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('perf-bands')}/p.db"
    seed_capacity(url, int(time.time() * 1000))
    add_users(url)
    return url


def chart(at: Any, title: str) -> list[dict[str, Any]]:
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        if spec["layout"]["title"]["text"].startswith(title):
            return spec["data"]
    raise AssertionError(f"no chart {title!r}")


def test_bands_are_an_option_and_flag_the_latency_spike(app: AppFactory, fleet_url: str) -> None:
    at = app(fleet_url, PAGE, range="24h")
    assert not at.exception
    assert not any("band" in t["name"] for t in chart(at, "p95 latency"))
    at.toggle(key=K.W_PERF_BANDS).set_value(True).run()
    assert not at.exception
    p95 = chart(at, "p95 latency")
    names = [t["name"] for t in p95]
    bands = [n for n in names if n.endswith("normal band")]
    assert set(bands) == {f"{s} normal band" for s in ("github", "search", "postgres", "files", "sheet")}
    assert names.index(bands[-1]) < names.index("search")  # bands behind the lines
    crosses = next(t for t in p95 if t["name"] == "anomaly")
    assert set(crosses["text"]) == {"search"}
    errors = chart(at, "Error rate")
    assert any(t["name"].endswith("normal band") for t in errors)
    assert not any(t.get("stackgroup") for t in errors)  # lines, so a band matches its series
    assert not any(t.get("stackgroup") is None for t in chart(at, "Call rate") if "band" not in t["name"])


def test_a_team_leads_bands_are_their_teams(app: AppFactory, fleet_url: str) -> None:
    at = app(fleet_url, PAGE, user="lead", range="24h")
    at.toggle(key=K.W_PERF_BANDS).set_value(True).run()
    assert not at.exception
    bands = {t["name"] for t in chart(at, "p95 latency") if t["name"].endswith("normal band")}
    assert bands == {"github normal band", "search normal band"}  # platform's servers only
