"""core.usage on the demo fleet, against ground truth recomputed from the demo's own samples."""

from __future__ import annotations

import time

import polars as pl
import pytest

from collectors.demo.capacity import ONBOARDING_STEP, onboarded_team, onboarding_ms
from core.kernel.settings import load_settings
from core.optimization.settings import PriceSettings
from core.storage.tsdb import open_store
from core.usage import usage_report
from core.views import Filters, scoped
from core.views.user_scope import user_scoped
from tests.demo_store import HOUR, DemoStore, write_demo

DAY = 24 * HOUR
PRICES = PriceSettings()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    end = int(time.time() * 1000) // HOUR * HOUR - 2 * HOUR  # whole hours, rolled up
    url = f"sqlite:///{tmp_path_factory.mktemp('usage')}/u.db"
    return write_demo(url, end - 6 * HOUR, end, step_s=120)


def samples(d: DemoStore, start: int, end: int) -> pl.DataFrame:
    """The demo's samples in [start, end) as metric, server, team, user, ts, value (the input itself)."""
    rows = []
    for batch in d.demo.backfill(d.start_ms, d.end_ms, d.step_ms):
        for s in batch:
            if start <= s.ts < end:
                lb = dict(s.labels)
                row = (s.metric, lb.get("server"), lb.get("team"), lb.get("user"), lb.get("gen_ai_tool_name"))
                rows.append((*row, s.ts, s.value))
    text = {k: pl.Utf8 for k in ("metric", "server", "team", "user", "tool")}
    return pl.DataFrame(rows, schema={**text, "ts": pl.Int64, "value": pl.Float64}, orient="row")


def hours_of(df: pl.DataFrame, metric: str, start: int, scale: float = 1.0) -> dict[str, float]:
    """Per server: sum over hours of the hour's mean (the core-hours a report should give)."""
    one = df.filter(pl.col("metric") == metric).with_columns(((pl.col("ts") - start) // HOUR).alias("h"))
    per_hour = one.group_by("server", "h").agg(pl.col("value").mean() / scale)
    return dict(per_hour.group_by("server").agg(pl.col("value").sum()).iter_rows())


def calls_of(df: pl.DataFrame) -> dict[str, float]:
    """Per server: counter increases of its tool-call series, resets counted like Prometheus."""
    one = df.filter(pl.col("metric") == "mcp_server_tool_calls_total").sort("ts")
    v, prev = pl.col("value"), pl.col("value").shift(1).over("server", "tool")
    inc = pl.when(prev.is_null()).then(0.0).when(v >= prev).then(v - prev).otherwise(v)
    return dict(one.with_columns(inc.alias("inc")).group_by("server").agg(pl.col("inc").sum()).iter_rows())


def test_resource_hours_and_cost_per_server_match_the_demo(demo: DemoStore) -> None:
    store = open_store(load_settings(database_url=demo.url))
    start, end = demo.start_ms, demo.end_ms
    r = usage_report(store, start, end, PRICES)
    truth = samples(demo, start, end)
    got = {row["server"]: row for row in r.servers.iter_rows(named=True)}
    assert set(got) == {s.name for s in demo.demo.topology.servers}
    cpu = hours_of(truth, "container_cpu_usage_cores", start)
    mem = hours_of(truth, "container_memory_working_set_bytes", start, float(1 << 30))
    for s in demo.demo.topology.servers:
        row = got[s.name]
        assert (row["team"], row["user"], row["session_id"]) == (s.team, s.user, s.session_id)
        assert row["cpu_core_hours"] == pytest.approx(cpu[s.name], rel=1e-3, abs=1e-3)
        assert row["memory_gib_hours"] == pytest.approx(mem[s.name], rel=1e-3, abs=1e-3)
        hours = (end - start) / HOUR  # requests are constant: the topology's, held every hour
        assert row["cpu_request_core_hours"] == pytest.approx(s.cpu_request * hours, rel=1e-3)
        held = s.cpu_request * PRICES.cpu_core_hour + s.memory_request / (1 << 30) * PRICES.memory_gib_hour
        assert row["cost"] == pytest.approx(held * hours, rel=1e-3)
    store.close()


def test_tool_calls_and_team_figures_match_the_demo(demo: DemoStore) -> None:
    store = open_store(load_settings(database_url=demo.url))
    start, end = demo.start_ms, demo.end_ms
    r = usage_report(store, start, end, PRICES)
    truth = samples(demo, start, end)
    calls = calls_of(truth)
    got = dict(r.servers.select("server", "tool_calls").iter_rows())
    assert sum(calls.values()) > 1000
    for server, n in calls.items():
        assert got[server] == pytest.approx(n, abs=0.5), server
    idle = {s.name for s in demo.demo.topology.servers if s.idle}
    assert idle and all(got[s] == 0 for s in idle)  # the demo's idle servers serve no calls
    teams = {row["team"]: row for row in r.teams.iter_rows(named=True)}
    gauges = (
        truth.filter(pl.col("metric").str.starts_with("platform_"))
        .group_by("metric", "team")
        .agg(pl.col("value").max())
    )
    for metric, team, peak in gauges.iter_rows():
        column = "active_users_peak" if metric == "platform_active_users" else "debug_sessions_peak"
        assert teams[team][column] == peak
    for team in demo.teams:
        mine = [s for s in demo.demo.topology.servers if s.team == team]
        assert teams[team]["mcp_servers"] == len(mine)
        assert teams[team]["users"] == len({s.user for s in mine})
        assert teams[team]["tool_calls"] == pytest.approx(sum(calls[s.name] for s in mine), abs=1)
    # the trend adds up to the totals
    trend = r.trend.group_by("team").agg(pl.col("tool_calls").sum(), pl.col("cost").sum())
    for team, n, cost in trend.iter_rows():
        assert n == pytest.approx(teams[team]["tool_calls"]) and cost == pytest.approx(
            teams[team]["cost"], rel=1e-3
        )
    store.close()


def test_a_short_range_has_a_trend_of_several_buckets_matching_the_demo(demo: DemoStore) -> None:
    """An hour is 12 buckets of 5 min (one hourly point would draw no line), same totals."""
    store = open_store(load_settings(database_url=demo.url))
    start, end = demo.end_ms - HOUR, demo.end_ms
    r = usage_report(store, start, end, PRICES)
    store.close()
    assert r.trend["ts"].n_unique() == 12
    # each server's increase over the hour, from its last sample before the hour on
    calls = calls_of(samples(demo, start - demo.step_ms, end))
    got = dict(r.servers.select("server", "tool_calls").iter_rows())
    assert sum(got.values()) > 1000
    for server, n in calls.items():
        assert got.get(server, 0) == pytest.approx(n, abs=0.5), server
    trend = dict(r.trend.group_by("team").agg(pl.col("tool_calls").sum()).iter_rows())
    teams = dict(r.teams.select("team", "tool_calls").iter_rows())
    assert trend == pytest.approx(teams)


def test_scoped_readers_narrow_to_teams_and_to_one_user(demo: DemoStore) -> None:
    store = open_store(load_settings(database_url=demo.url))
    start, end = demo.start_ms, demo.end_ms
    a = demo.teams[0]
    lead = usage_report(scoped(store, {a}), start, end, PRICES)
    assert set(lead.teams["team"]) == {a} and set(lead.servers["team"]) == {a}
    user = sorted(u for t, u in demo.owners().values() if t == a)[0]
    mine = {s for s, (_, u) in demo.owners().items() if u == user}
    dev = usage_report(user_scoped(scoped(store, {a}), user), start, end, PRICES)
    assert set(dev.servers["server"]) == mine and set(dev.users["user"]) == {user}
    assert dev.teams["active_users_peak"].is_null().all()  # team-wide gauges are not one user's
    full = usage_report(store, start, end, PRICES)
    want = full.servers.filter(pl.col("server").is_in(list(mine))).sort("server")
    assert dev.servers.sort("server").equals(want)  # their own rows, unchanged
    # the user's own team scope still applies; filters only narrow
    assert usage_report(user_scoped(scoped(store, set()), user), start, end, PRICES).servers.is_empty()
    other = demo.teams[1]
    narrowed = usage_report(
        user_scoped(scoped(store, {a}), user), start, end, PRICES, Filters(teams=(other,))
    )
    assert narrowed.servers.is_empty()
    store.close()


def test_usage_basis_charges_what_is_used(demo: DemoStore) -> None:
    store = open_store(load_settings(database_url=demo.url))
    r = usage_report(store, demo.start_ms, demo.end_ms, PRICES, basis="usage")
    want = (
        r.servers["cpu_core_hours"] * PRICES.cpu_core_hour
        + r.servers["memory_gib_hours"] * PRICES.memory_gib_hour
    )
    assert (r.servers["cost"] - want).abs().max() < 1e-3
    store.close()


def test_onboarding_step_shows_in_the_onboarded_teams_trend(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The demo onboards one team at a known moment: its daily peak of active users jumps by ~50 %."""
    now = int(time.time() * 1000)
    at = onboarding_ms(42, now - 200 * DAY)  # the cycle repeats every 26 weeks: one in the past
    url = f"sqlite:///{tmp_path_factory.mktemp('onboard')}/o.db"
    d = write_demo(url, at - 2 * DAY, at + 2 * DAY, step_s=1800, hosts=2, servers_per_host=2)
    store = open_store(load_settings(database_url=url))
    r = usage_report(store, at - 2 * DAY, at + 2 * DAY, PRICES)
    store.close()
    team = onboarded_team(42, list(d.teams))
    day = pl.col("ts").dt.epoch("ms")
    for name in d.teams:
        t = r.trend.filter(pl.col("team") == name)
        before = t.filter(day == at - DAY)["active_users"][0]
        after = t.filter(day == at)["active_users"][0]
        if name == team:
            assert after / before == pytest.approx(1 + ONBOARDING_STEP, abs=0.2), (before, after)
        else:
            assert after / before == pytest.approx(1.0, abs=0.2), (name, before, after)


def test_tool_calls_over_days_count_every_restart_like_the_minute_read(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Past a day the calls come from hour rollups (core.usage.calls): containers restart daily and
    inside hours here, the range starts and ends mid-hour; each server's total is still the
    counter's exact increase (every delta whose later sample falls in the range, resets from zero)."""
    end = int(time.time() * 1000) // HOUR * HOUR - 2 * HOUR
    url = f"sqlite:///{tmp_path_factory.mktemp('days')}/d.db"
    d = write_demo(url, end - 40 * HOUR, end, step_s=120, hosts=2, servers_per_host=2)
    start, stop = end - 30 * HOUR - 17 * 60_000, end - 23 * 60_000
    store = open_store(load_settings(database_url=url))
    r = usage_report(store, start, stop, PRICES)
    store.close()
    upto_stop, upto_start = calls_of(samples(d, d.start_ms, stop)), calls_of(samples(d, d.start_ms, start))
    truth = {s: n - upto_start.get(s, 0.0) for s, n in upto_stop.items()}
    got = dict(r.servers.select("server", "tool_calls").iter_rows())
    assert sum(truth.values()) > 1000
    for server, n in truth.items():
        assert got[server] == pytest.approx(n, abs=0.5), server
    restarts = samples(d, start, stop).filter(pl.col("metric") == "mcp_server_tool_calls_total").sort("ts")
    fell = restarts.filter(pl.col("value") < pl.col("value").shift(1).over("server", "tool"))
    assert fell.height >= len(truth)  # every server's counter restarted at least once in the range
    assert r.trend["tool_calls"].sum() == pytest.approx(sum(truth.values()), abs=1)


def test_growth_per_team_states_its_basis(demo: DemoStore) -> None:
    store = open_store(load_settings(database_url=demo.url))
    short = usage_report(store, demo.start_ms, demo.end_ms, PRICES)
    store.close()
    assert short.teams["growth_pct"].is_null().all() and "shorter than 2 days" in short.growth_basis
