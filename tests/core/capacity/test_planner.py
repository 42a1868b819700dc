"""The what-if planner on a fleet with known ground truth: a linear trend plus a daily wave."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from core.capacity.fleet import Baseline, FleetHistory, forecast_fleet
from core.capacity.planner import project
from core.capacity.scenario import ScenarioError, check_name, make_scenario

HOUR_MS = 3_600_000
START = 2959 * 604_800_000  # a Thursday 00:00 UTC
N = 14 * 24  # two weeks of hourly history
CORES, GIB = 16.0, 128.0  # per host, 4 hosts


def cpu_truth(h: np.ndarray) -> np.ndarray:
    """Used cores: 10 growing 0.1 an hour, with a daily wave of +-2."""
    return 10 + 0.1 * h + 2 * np.sin(2 * np.pi * h / 24)


@pytest.fixture(scope="module")
def base() -> Baseline:
    h = np.arange(N)
    usage = pl.DataFrame(
        {"ts": START + HOUR_MS * h, "cpu_cores": cpu_truth(h), "memory_gib": 100 + 0.5 * h}
    ).with_columns(pl.col("ts").cast(pl.Datetime("ms", "UTC")))
    hosts = pl.DataFrame({"host": list("abcd"), "cores": [CORES] * 4, "memory_gib": [GIB] * 4})
    teams = pl.DataFrame({"team": ["x", "y"], "cpu_cores": [5.0, 10.0], "memory_gib": [20.0, 40.0]})
    return forecast_fleet(FleetHistory(START + N * HOUR_MS, usage, hosts, teams), horizon_days=7)


def part(p: object, resource: str, plan: str) -> pl.DataFrame:
    f = p.forecast  # type: ignore[attr-defined]
    return f.filter((pl.col("resource") == resource) & (pl.col("plan") == plan))


def test_the_baseline_crosses_the_target_when_the_true_trend_does(base: Baseline) -> None:
    p = project(base, make_scenario(target_utilization=0.7))
    row = p.exhaustion.filter((pl.col("resource") == "cpu") & (pl.col("plan") == "baseline"))
    at = row.filter(pl.col("threshold") == 0.7)["at"][0]
    h = np.arange(N, N + 7 * 24, 1 / 60)  # the truth, minute by minute
    truth = START + HOUR_MS * h[np.argmax(cpu_truth(h) >= 0.7 * 4 * CORES)]
    assert abs(at - truth) <= 2 * HOUR_MS
    assert row.filter(pl.col("threshold") == 1.0)["at"][0] is None  # 64 cores is beyond the week


def test_no_change_is_the_baseline(base: Baseline) -> None:
    p = project(base, make_scenario())
    for r in ("cpu", "memory"):
        assert part(p, r, "scenario")["utilization_mean"].to_list() == pytest.approx(
            part(p, r, "baseline")["utilization_mean"].to_list()
        )
    assert (p.now.hosts, p.planned.hosts, p.planned.cores) == (4, 4, 64)


def test_growth_ramps_to_its_value_by_the_horizon_end(base: Baseline) -> None:
    p = project(base, make_scenario(user_growth_pct=100))
    b, s = part(p, "cpu", "baseline"), part(p, "cpu", "scenario")
    assert s["demand_mean"][-1] == pytest.approx(2 * b["demand_mean"][-1])
    assert s["demand_upper"][-1] == pytest.approx(2 * b["demand_upper"][-1])  # the band scales too
    assert s["demand_mean"][0] == pytest.approx(b["demand_mean"][0] * (1 + 1 / b.height))


def test_onboarded_teams_add_their_profile_share(base: Baseline) -> None:
    p = project(base, make_scenario(teams_onboarded=2, profile_team="y"))
    share = 10.0 / float(base.fleet.usage["cpu_cores"].mean())  # team y's mean over the fleet's
    b, s = part(p, "cpu", "baseline"), part(p, "cpu", "scenario")
    assert (s["demand_mean"] / b["demand_mean"]).to_list() == pytest.approx([1 + 2 * share] * b.height)
    avg = project(base, make_scenario(teams_onboarded=1))  # the average team: 7.5 cores
    ratio = part(avg, "cpu", "scenario")["demand_mean"][0] / b["demand_mean"][0]
    assert ratio == pytest.approx(1 + 7.5 / float(base.fleet.usage["cpu_cores"].mean()))


def test_hosts_added_lower_utilization_and_hosts_needed_follow_the_peak(base: Baseline) -> None:
    p = project(
        base, make_scenario(hosts_added=4, host_cores=32, host_memory_gib=256, target_utilization=0.5)
    )
    assert (p.planned.hosts, p.planned.cores, p.planned.memory_gib) == (8, 64 + 4 * 32, 4 * 128 + 4 * 256)
    b = part(p, "cpu", "baseline")
    s = part(p, "cpu", "scenario")
    assert s["utilization_mean"].to_list() == pytest.approx((b["demand_mean"] / 192).to_list())
    peak = float(s["demand_mean"].max())  # type: ignore[arg-type]
    assert p.hosts_needed["cpu"][0] == math.ceil(peak / (0.5 * 32))
    removed = project(base, make_scenario(hosts_added=-1))
    assert (removed.planned.hosts, removed.planned.cores) == (3, 48)


def test_monthly_cost_is_cores_and_gib_around_the_clock(base: Baseline) -> None:
    s = make_scenario(price_core_hour=0.05, price_gib_hour=0.01, hosts_added=1)
    p = project(base, s)
    assert p.monthly_cost("now") == pytest.approx((64 * 0.05 + 512 * 0.01) * 730)
    assert p.monthly_cost("planned") == pytest.approx((80 * 0.05 + 640 * 0.01) * 730)
    assert p.summary()["monthly_cost_planned"] == pytest.approx(p.monthly_cost("planned"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"hosts_added": -4}, "zero hosts: the fleet has 4 hosts and the scenario removes 4"),
        ({"hosts_added": -9}, "zero hosts"),
        ({"target_utilization": 0}, "target utilization 0 %"),
        (
            {"profile_team": "nope", "teams_onboarded": 1},
            "profile team 'nope' is not one of the teams you see (x, y)",
        ),
    ],
)
def test_absurd_combinations_say_what_is_wrong(
    base: Baseline, values: dict[str, object], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        project(base, make_scenario(**values))


@pytest.mark.parametrize(
    ("values", "field"),
    [({"user_growth_pct": -150}, "user growth pct"), ({"target_utilization": 1.5}, "target utilization")],
)
def test_out_of_bounds_values_name_the_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(ScenarioError, match=f"bad what-if scenario: {field}"):
        make_scenario(**values)


def test_scenario_names_are_checked() -> None:
    assert check_name("  Q3 plan ") == "Q3 plan"
    for bad, words in (("", "needs a name"), ("=HYPERLINK(1)", "not allowed"), ("x" * 61, "not allowed")):
        with pytest.raises(ScenarioError, match=words):
            check_name(bad)


def test_an_undefined_forecast_is_a_message(base: Baseline) -> None:
    short = FleetHistory(base.fleet.end_ms, base.fleet.usage.head(20), base.fleet.hosts, base.fleet.teams)
    with pytest.raises(ScenarioError, match="nothing to plan: the CPU forecast is undefined: too short"):
        project(forecast_fleet(short, 7), make_scenario())
