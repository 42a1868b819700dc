"""Reading the fleet and its history through a (scoped) reader, on a seeded store with known values."""

from __future__ import annotations

import time

import polars as pl
import pytest

from core.capacity import charts as cap_charts
from core.capacity import history as hist
from core.capacity.fleet import forecast_fleet, read_fleet
from core.capacity.planner import project
from core.capacity.scenario import make_scenario
from core.kernel.settings import load_settings
from core.storage.tsdb import Store, open_store
from core.views.scope import scoped
from tests.pages.capacity_fleet import HOSTS, SERVERS, seed_capacity

DAY_MS, HOUR_MS = 86_400_000, 3_600_000


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    url = f"sqlite:///{tmp_path_factory.mktemp('fleet')}/f.db"
    now = int(time.time() * 1000) // HOUR_MS * HOUR_MS
    seed_capacity(url, now, days=16, step_s=1800)
    return open_store(load_settings(database_url=url))


def test_used_cores_are_utilization_times_each_hosts_cores(store: Store) -> None:
    fleet = read_fleet(store, store.now_ms(), 3)
    assert fleet.hosts.sort("host").rows() == [
        ("gpu-1", 32.0, 128.0),
        ("web-1", 16.0, 64.0),
        ("web-2", 16.0, 64.0),
    ]
    assert (fleet.cores, fleet.memory_gib) == (64.0, 256.0)
    # the mean of the daily wave over whole days is 1: mean used cores = sum(util * cores)
    expected = sum(cores * util for cores, _, util in HOSTS.values())
    assert float(fleet.usage["cpu_cores"].tail(48).mean()) == pytest.approx(expected, rel=0.02)  # type: ignore[arg-type]
    assert float(fleet.usage["memory_gib"].tail(48).mean()) == pytest.approx(0.5 * 256, rel=0.02)  # type: ignore[arg-type]
    assert fleet.usage.height == 3 * 24
    teams = dict(zip(fleet.teams["team"], fleet.teams["cpu_cores"], strict=True))
    assert teams["platform"] == pytest.approx(3.0, rel=0.02) and teams["ml"] == pytest.approx(3.0, rel=0.02)


def test_a_team_scope_sees_the_hosts_of_its_servers(store: Store) -> None:
    fleet = read_fleet(scoped(store, frozenset({"platform"})), store.now_ms(), 3)
    assert fleet.hosts["host"].to_list() == ["web-1", "web-2"]
    assert fleet.teams["team"].to_list() == ["platform"]
    p = project(forecast_fleet(fleet, 7), make_scenario())
    assert (p.now.hosts, p.now.cores) == (2, 32.0)


def test_history_trends_heatmap_teams_and_movers(store: Store) -> None:
    h = hist.read_history(store, store.now_ms(), 16)
    t = hist.trends(h)
    assert t["aggregate"].to_list() == list(hist.TRENDED)
    flat = t.filter(pl.col("aggregate") == "fleet_memory")
    assert abs(flat["wow_pct"][0]) < 1.0  # the seeded fleet does not grow
    assert (flat["unit"][0], flat["this_week"][0]) == ("GiB", pytest.approx(128, rel=0.02))  # half of 256 GiB
    heat = hist.heatmap(h, "fleet_cpu")
    assert heat.height == 7 * 24
    by_hour = heat.group_by("hour").agg(pl.col("value").mean()).sort("hour")
    assert by_hour["value"].arg_max() == 6  # sin peaks a quarter day in: 06:00 UTC
    growth = hist.team_growth(h)
    assert set(growth["team"]) == {t for _, t, _ in SERVERS.values()}
    movers = hist.top_movers(h, 3)
    assert movers.height == 3 and movers["change"].abs().max() < 0.1  # nothing moved


def test_history_growth_and_movers_find_a_change() -> None:
    ts = pl.datetime_range(
        pl.datetime(2026, 1, 1, time_zone="UTC"),
        pl.datetime(2026, 1, 15, time_zone="UTC"),
        "1h",
        eager=True,
        closed="left",
    ).dt.cast_time_unit("ms")
    end = int(ts[-1].timestamp() * 1000) + HOUR_MS
    week2 = ts.dt.epoch("ms") >= end - 7 * DAY_MS
    servers = pl.concat(
        [
            pl.DataFrame(
                {"ts": ts, "server": "a", "team": "x", "value": pl.Series(week2).cast(pl.Float64) * 2 + 1}
            ),
            pl.DataFrame({"ts": ts, "server": "b", "team": "y", "value": 1.0}),
        ]
    )
    teams = (
        servers.rename({"server": "metric"})
        .with_columns(metric=pl.lit("cpu_cores"))
        .select("ts", "team", "metric", "value")
    )
    h = hist.History(
        end,
        pl.DataFrame(schema={"ts": pl.Datetime("ms", "UTC"), "aggregate": pl.Utf8, "value": pl.Float64}),
        teams,
        servers,
    )
    movers = hist.top_movers(h, 1)
    assert movers.row(0, named=True)["server"] == "a" and movers["change"][0] == pytest.approx(2.0)
    growth = hist.team_growth(h)
    assert growth.row(0, named=True)["team"] == "x" and growth["wow_pct"][0] == pytest.approx(200.0)
    assert growth["mom_pct"][0] is None  # no 28 days before
    # over the whole history (2 weeks): the last week's daily mean (3) against the first's (1)
    assert growth["growth_pct"][0] == pytest.approx(200.0) and growth["growth_pct"][1] == pytest.approx(0.0)
    assert "last 7 days against its first 7 days" in hist.growth_basis_of(h)


def test_charts_have_bands_and_a_weekday_grid(store: Store) -> None:
    fleet = read_fleet(store, store.now_ms(), 6)
    p = project(forecast_fleet(fleet, 7), make_scenario(user_growth_pct=50))
    fig = cap_charts.projection(p.forecast, p.history, "cpu", "CPU", 0.7)
    names = [t.name for t in fig.data]
    assert names == [  # bands behind the lines; the baseline's dashes on top of the scenario
        "Baseline forecast, 80 % interval",
        "Scenario, 80 % interval",
        "History",
        "Scenario",
        "Baseline forecast",
    ]
    band = fig.data[1]
    assert band.fill == "toself" and len(band.x) == 2 * 7 * 24
    grid = cap_charts.week_heatmap(hist.heatmap(hist.read_history(store, store.now_ms(), 14)), "load")
    assert list(grid.data[0].y) == list(hist.WEEKDAYS) and len(grid.data[0].z[0]) == 24
